/**
 * `POST /v1/upgrade` (runtime/api/server.ts): the body is the bundle
 * (`X.tfwup`, application/octet-stream, with Content-Length); the header
 * `Tfw-Signature` carries the `.minisig` file in base64; `?allowDowngrade=1`
 * permits an older version. The upload is staged on /data (removed whatever
 * happens), verified and written to the other slot (device/upgrade.ts); 200
 * `{ slot, version, generation, rebooting: true }` and then `reboot()`; 400
 * `{ error, code }` with the reason otherwise, logged as `tfw: upgrade:
 * refused <reason>`; 409 while another upgrade runs; 413 over MAX_BUNDLE.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { DeviceState } from '../device/device.js';
import { UpgradeRefused } from '../device/upgrade.js';
import { send } from './http.js';

/** Largest bundle accepted (bytes). */
export const MAX_BUNDLE = 512 * 1048576;

/** Handles one upgrade request to the end (never rejects for a refusal). */
export async function handleUpgrade(req: IncomingMessage, res: ServerResponse, url: URL, o: { device: DeviceState; reboot: () => void; log: (component: string, message: string) => void }): Promise<void> {
  const refuse = (code: number, why: string) => {
    o.log('upgrade', `refused ${why}`);
    send(res, code, { error: why, code: code === 409 ? 'ERR_TFW_BUSY' : 'ERR_TFW_UPGRADE_REFUSED' });
    if (!req.complete) req.resume();
  };
  const sigHeader = req.headers['tfw-signature'];
  const signature = typeof sigHeader === 'string' ? Buffer.from(sigHeader, 'base64').toString('utf8') : '';
  if (!signature.startsWith('untrusted comment:')) return refuse(400, 'Tfw-Signature: expected the .minisig file in base64');
  const length = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(length) || length <= 0) return refuse(400, 'Content-Length: expected the bundle size in bytes');
  if (length > MAX_BUNDLE) return refuse(413, `bundle of ${length} bytes is larger than ${MAX_BUNDLE}`);
  const dir = o.device.stagingDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `incoming-${process.pid}-${Date.now()}.tfwup`);
  try {
    let got = 0;
    const out = createWriteStream(file, { mode: 0o600 });
    let aborted = false;
    req.on('aborted', () => (aborted = true));
    req.on('close', () => {
      if (!req.complete) aborted = true;
    });
    try {
      for await (const chunk of req) {
        got += (chunk as Buffer).length;
        if (got > length) break;
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } catch {
      aborted = true; // the client closed the connection mid-body (the iterator throws "aborted")
    }
    out.end();
    await once(out, 'close');
    if (aborted || got !== length) {
      o.log('upgrade', `refused upload truncated: ${got} of ${length} bytes`);
      if (!res.destroyed && !aborted) send(res, 400, { error: `upload truncated: ${got} of ${length} bytes`, code: 'ERR_TFW_UPGRADE_REFUSED' });
      return;
    }
    o.log('upgrade', `received ${got} bytes, verifying`);
    let last = 0;
    const r = await o.device.upgrade(file, signature, url.searchParams.get('allowDowngrade') === '1', (done, total) => {
      const pct = Math.floor((done / total) * 10);
      if (pct > last) o.log('upgrade', `writing slot: ${pct * 10}%`);
      last = pct;
    });
    o.log('upgrade', `slot ${r.slot} holds ${r.version} (generation ${r.generation}), next boot tries it; rebooting`);
    send(res, 200, { slot: r.slot, version: r.version, generation: r.generation, rebooting: true });
    res.on('finish', () => setTimeout(o.reboot, 500));
  } catch (err) {
    if (err instanceof UpgradeRefused) return refuse(err.message === 'another upgrade is in progress' ? 409 : 400, err.message);
    throw err;
  } finally {
    rmSync(file, { force: true });
  }
}
