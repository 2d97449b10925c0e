/**
 * `tfw upgrade --device URL X.tfwup`: sends a signed bundle and its signature
 * (`X.tfwup.minisig`) to a device's API (`POST /v1/upgrade`, runtime/api/server.ts)
 * with a progress bar; the device verifies it, writes its other slot and
 * reboots into it. Exit 0 when the device accepted it; 1 with the device's
 * reason (`tfw: upgrade: refused ...`) otherwise.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { TfwError } from '../../runtime/errors.js';

interface UpgradeFlags {
  device: string;
  passwordFile?: string;
  signature?: string;
  allowDowngrade?: boolean;
  json?: boolean;
  progress: boolean;
}

/**
 * Uploads `bundle` to `device` (base URL). Resolves with the device's JSON
 * answer; throws TfwError with the device's reason or the transport error.
 */
export function uploadBundle(o: { device: string; bundle: string; signature: string; allowDowngrade?: boolean; token?: string; onProgress?: (sent: number, total: number) => void }): Promise<Record<string, unknown>> {
  let url: URL;
  try {
    url = new URL('/v1/upgrade', o.device);
  } catch {
    throw new TfwError('ERR_TFW_CONFIG', `--device: expected a URL like http://192.168.1.1, got "${o.device}"`);
  }
  if (url.protocol !== 'http:') throw new TfwError('ERR_TFW_CONFIG', `--device: expected an http:// URL, got "${o.device}"`);
  if (o.allowDowngrade) url.searchParams.set('allowDowngrade', '1');
  const size = statSync(o.bundle).size;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': size,
        'tfw-signature': Buffer.from(o.signature).toString('base64'),
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      },
    });
    req.on('error', (err) => reject(new TfwError('ERR_TFW_UPGRADE', `${url.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          /* not JSON: reported below */
        }
        if (res.statusCode === 200) resolve(json);
        else reject(new TfwError('ERR_TFW_UPGRADE_REFUSED', `refused ${typeof json.error === 'string' ? json.error : `(HTTP ${res.statusCode}) ${body.trim().slice(0, 200)}`}`));
      });
    });
    let sent = 0;
    const src = createReadStream(o.bundle, { highWaterMark: 1 << 20 });
    src.on('data', (c) => {
      sent += c.length;
      o.onProgress?.(sent, size);
    });
    src.on('error', (err) => reject(new TfwError('ERR_TFW_UPGRADE', `${o.bundle}: ${err.message}`)));
    src.pipe(req);
  });
}

/**
 * Signs in to a device (`POST /v1/login`) and returns the session token.
 * @throws TfwError with the device's reason (wrong password, rate-limited)
 */
export async function login(device: string, password: string): Promise<string> {
  let r: Response;
  try {
    r = await fetch(new URL('/v1/login', device), { method: 'POST', body: JSON.stringify({ password }), signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new TfwError('ERR_TFW_UPGRADE', `${device}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const j = (await r.json().catch(() => ({}))) as { token?: string; error?: string };
  if (!r.ok || !j.token) throw new TfwError('ERR_TFW_AUTH', `sign-in refused: ${j.error ?? `HTTP ${r.status}`}`);
  return j.token;
}

export function register(program: Command): void {
  program
    .command('upgrade')
    .description('Send a signed update bundle to a device; it writes its other slot and reboots into it')
    .argument('<bundle>', 'the .tfwup file (its signature is read from BUNDLE.minisig)')
    .requiredOption('--device <url>', 'the device API, e.g. http://192.168.1.1 or http://127.0.0.1:8080 (tfw boot --forward 8080:80)')
    .option('--signature <file>', 'the minisign signature (default BUNDLE.minisig)')
    .option('--allow-downgrade', 'let the device install an older version')
    .option('--password-file <file>', 'sign in with the admin password in FILE first (also: TFW_DEVICE_PASSWORD); a device with no password set takes uploads from its LAN')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the device\'s answer as JSON on stdout')
    .addHelpText('after', '\nExample:\n  tfw upgrade --device http://127.0.0.1:8080 3router-1.1.0.tfwup')
    .action(async (bundle: string, f: UpgradeFlags) => {
      if (!existsSync(bundle)) throw new TfwError('ERR_TFW_CONFIG', `bundle: ${bundle} does not exist; make it with tfw release`);
      const sigFile = f.signature ?? `${bundle}.minisig`;
      if (!existsSync(sigFile)) throw new TfwError('ERR_TFW_CONFIG', `--signature: ${sigFile} does not exist (tfw release writes it beside the bundle)`);
      const bar = f.progress && !f.json && process.stderr.isTTY ? new SingleBar({ format: 'tfw: upgrade: [{bar}] {percentage}% {value}/{total} MiB', hideCursor: true }) : undefined;
      const password = f.passwordFile ? readFileSync(f.passwordFile, 'utf8').replace(/\r?\n$/, '') : process.env.TFW_DEVICE_PASSWORD;
      const token = password ? await login(f.device, password) : undefined;
      const total = statSync(bundle).size;
      bar?.start(Math.ceil(total / 1048576), 0);
      let lastPct = -1;
      try {
        const r = await uploadBundle({
          device: f.device,
          bundle,
          signature: readFileSync(sigFile, 'utf8'),
          allowDowngrade: f.allowDowngrade,
          token,
          onProgress: (sent, size) => {
            bar?.update(Math.floor(sent / 1048576));
            const pct = Math.floor((sent / size) * 4) * 25;
            if (!bar && !f.json && pct !== lastPct) process.stderr.write(`tfw: upgrade: sent ${sent} of ${size} bytes (${pct}%)\n`);
            lastPct = pct;
          },
        });
        bar?.update(Math.ceil(total / 1048576));
        bar?.stop();
        if (f.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        process.stderr.write(`tfw: upgrade: the device wrote ${String(r.version)} to slot ${String(r.slot)} and is rebooting into it\n`);
      } finally {
        bar?.stop();
      }
    });
}
