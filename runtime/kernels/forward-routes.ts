/**
 * Route-file parsing for `Fib.loadRoutes`: plain `prefix nexthop` lines, or the JSON
 * that `ip -j route show` / `ip -j -6 route show` (iproute2) prints.
 */
import { TfwError } from '../errors.js';
import { checkNextHop, parsePrefix, PrefixError, type Family } from './forward-prefix.js';

/** Thrown for a route file line or JSON entry that cannot be used; names the line. */
export class RouteFileError extends TfwError {
  readonly line: number;
  constructor(line: number, message: string) {
    super('ERR_TFW_ROUTES', `routes line ${line}: ${message}`);
    this.line = line;
  }
}

export interface ParsedRoute {
  prefix: string;
  nextHop: number;
}

export interface RouteParseOptions {
  /**
   * For `ip -j route` input: next-hop ids by key (`via <gateway> dev <device>`,
   * `via <gateway>` or `dev <device>`). Keys not in the map get the next free id
   * (counting up from the largest id present, or 0) and are added to it.
   */
  nextHops?: Map<string, number>;
}

/**
 * Parses a route list. Plain text: one `prefix nexthop` per line, `#` starts a
 * comment, blank lines are skipped. JSON (text starting with `[`): the array that
 * `ip -j route` prints; `dst` `default` means /0, a bare address a host route;
 * entries whose `type` is not `unicast` (local, broadcast, unreachable, blackhole,
 * ...) are skipped; a multipath route takes its first `nexthops` entry.
 * @throws RouteFileError (with the line or entry number) for anything malformed
 */
export function parseRoutes(family: Family, text: string, opts: RouteParseOptions = {}): ParsedRoute[] {
  if (text.trimStart().startsWith('[')) return parseIpJson(family, text, opts.nextHops ?? new Map());
  const out: ParsedRoute[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const body = lines[i].replace(/#.*/, '').trim();
    if (!body) continue;
    const f = body.split(/\s+/);
    if (f.length !== 2) throw new RouteFileError(i + 1, `expected "prefix nexthop", got ${JSON.stringify(lines[i])}`);
    try {
      parsePrefix(family, f[0]);
      if (!/^[0-9]+$/.test(f[1])) throw new TfwError('ERR_TFW_NEXT_HOP', `nextHop: expected an integer 0..65535, got ${JSON.stringify(f[1])}`);
      out.push({ prefix: f[0], nextHop: checkNextHop(Number(f[1])) });
    } catch (err) {
      throw new RouteFileError(i + 1, (err as Error).message);
    }
  }
  return out;
}

interface IpRoute {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
  nexthops?: Array<{ gateway?: string; dev?: string }>;
}

function parseIpJson(family: Family, text: string, ids: Map<string, number>): ParsedRoute[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RouteFileError(1, `expected the JSON of \`ip -j route\`: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new RouteFileError(1, 'expected a JSON array of routes');
  let next = ids.size ? Math.max(...ids.values()) + 1 : 0;
  const out: ParsedRoute[] = [];
  data.forEach((r: IpRoute, i: number) => {
    if (typeof r !== 'object' || r === null || typeof r.dst !== 'string') throw new RouteFileError(i + 1, 'expected an object with "dst"');
    if (r.type && r.type !== 'unicast') return;
    const dst = r.dst === 'default' ? (family === 'ipv4' ? '0.0.0.0/0' : '::/0') : r.dst;
    try {
      parsePrefix(family, dst, 'dst');
    } catch (err) {
      if (err instanceof PrefixError) throw new RouteFileError(i + 1, err.message);
      throw err;
    }
    const hop = r.nexthops?.[0] ?? r;
    const key = [hop.gateway ? `via ${hop.gateway}` : '', hop.dev ? `dev ${hop.dev}` : ''].filter(Boolean).join(' ');
    if (!key) throw new RouteFileError(i + 1, `route ${dst}: expected "gateway" or "dev"`);
    let id = ids.get(key);
    if (id === undefined) {
      if (next > 65535) throw new RouteFileError(i + 1, 'more than 65,536 distinct next hops');
      id = next++;
      ids.set(key, id);
    }
    out.push({ prefix: dst, nextHop: id });
  });
  return out;
}
