/**
 * The top-level keys a tfw config may hold, in one list: a key not listed is
 * refused with the field named and the closest known key suggested (`peer:`
 * -> "did you mean peers?"), where it used to be ignored (a config with
 * `peer:` ran with no peers). Adding a section to the config is one line
 * here, next to the schema that checks its value.
 */

/** Each allowed top-level key and what checks it. */
export const TOP_LEVEL_KEYS: Readonly<Record<string, string>> = {
  // The overlay (schema.ts), field names as wg(8) / wg-quick.
  name: 'overlay',
  privateKey: 'overlay',
  listenPort: 'overlay',
  address: 'overlay',
  mtu: 'overlay',
  mesh: 'overlay',
  status: 'overlay',
  peers: 'overlay',
  // An image config may nest the overlay under `overlay:` and name its role.
  overlay: 'image',
  role: 'image',
  // The device API's address (runtime/api, "ADDR:PORT"): checked with the overlay
  // fields by schema.ts, so the runtime reads it from the checked config.
  api: 'overlay',
  // The 3router's gateway (runtime/gateway/config.ts): LAN bridge, DHCP and DNS, WAN, firewall zones.
  lan: 'gateway',
  wan: 'gateway',
  firewall: 'gateway',
  // A Mycelium-dialect node on the same key (runtime/config/mycelium.ts, runtime/overlay/mycelium).
  mycelium: 'mycelium',
  // An AIBox's slices (runtime/config/slices.ts): its address on the slice VMs' bridge.
  slices: 'slices',
};

/** Levenshtein distance between two short strings (keys), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known key closest to `key` (at most 2 edits, or a third of its length), or null. */
export function suggestKey(key: string, known: Iterable<string> = Object.keys(TOP_LEVEL_KEYS)): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

/** The top-level keys of `obj` that are not allowed, in order. */
export const unknownTopLevelKeys = (obj: Record<string, unknown>): string[] => Object.keys(obj).filter((k) => !Object.hasOwn(TOP_LEVEL_KEYS, k));
