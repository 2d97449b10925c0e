/**
 * The AIBox's slices in the device API (runtime/slices/manager.ts behind
 * HTTP), every route needing a session:
 *
 * - `GET /v1/slices`: `{ slices, usage }` (each slice with `running`);
 * - `GET /v1/slices/inventory`: GPUs with IOMMU groups, CPUs, memory;
 * - `POST /v1/slices` `{ name, gpus, vcpus, memory, disk? }` (sizes like 8G):
 *   201 with the slice, 409 with the one-line shortage when it does not fit;
 * - `POST /v1/slices/<name>/start` `{ run? }` (`run`: the path of an OCI
 *   image archive on the AIBox for the VM to run once ready): 200 with the
 *   slice; with an overlay gateway its `overlay` is `{ state: "waiting" }`
 *   and the VM is admitted to the AIBox's node in the background (`GET
 *   /v1/slices` then shows `admitted` with `publicKey` and `subnet`, or
 *   `failed` with `error`);
 * - `GET /v1/slices/<name>/console?kib=N`: the last N KiB (default 64, at
 *   most 1024) of the VM's serial console as text/plain (its boot log; empty
 *   before its first start), 404 for an unknown slice;
 * - `POST /v1/slices/<name>/stop` `{ timeout? }` (seconds the guest gets to
 *   power off, default 30, then SIGTERM), `DELETE /v1/slices/<name>`: 404 for an
 *   unknown slice. A start that fails on the host (image missing, QEMU
 *   exiting, vfio) is a 500 carrying the cause and its code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TfwError } from '../errors.js';
import { parseSizeMiB, SliceLaunchError, SliceNotFoundError, SliceRefusedError, SliceRunMissingError, SysfsError, VfioBindError, type SliceManager } from '../slices/index.js';
import { HttpError, readJson, send } from './http.js';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, param: string) => Promise<void> | void;

/** Maps slice errors to HTTP: refusals 409, unknown slices 404, bad values (a missing `run` archive included) 400. */
async function mapped(f: () => Promise<void> | void): Promise<void> {
  try {
    await f();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof SliceRefusedError) throw new HttpError(409, err.code, err.message);
    if (err instanceof SliceNotFoundError) throw new HttpError(404, err.code, err.message);
    if (err instanceof SliceRunMissingError) throw new HttpError(400, err.code, err.message, err.field);
    if (err instanceof TfwError && err.code === 'ERR_TFW_CONFIG') {
      // The planner names the CLI's flags (`--disk: ...`); the API names its JSON fields (`disk: ...`).
      const m = /^(?:--)?([a-zA-Z]+): /.exec(err.message);
      throw new HttpError(400, err.code, err.message.replace(/^--([a-zA-Z]+): /, '$1: ').replace(/ to match --gpus /, ' to match gpus '), m?.[1]);
    }
    if (err instanceof SliceLaunchError || err instanceof VfioBindError || err instanceof SysfsError) throw new HttpError(500, err.code, err.message);
    throw err;
  }
}

/** The routes for `slices` (in the server's route shape). */
export function sliceRoutes(slices: SliceManager): Array<{ method: string; path: RegExp; access: 'session'; handler: Handler }> {
  const size = (v: unknown, field: string, def?: number): number | undefined => {
    if (v === undefined) return def;
    if (typeof v === 'number') return v;
    if (typeof v !== 'string') throw new HttpError(400, 'ERR_TFW_CONFIG', `${field}: expected a size like 8G or 512M`, field);
    try {
      return parseSizeMiB(field, v);
    } catch (err) {
      throw new HttpError(400, 'ERR_TFW_CONFIG', (err as Error).message, field);
    }
  };
  return [
    { method: 'GET', path: /^\/v1\/slices$/, access: 'session', handler: (_q, res) => send(res, 200, { slices: slices.list(), usage: slices.usage() }) },
    { method: 'GET', path: /^\/v1\/slices\/inventory$/, access: 'session', handler: (_q, res) => mapped(() => send(res, 200, slices.inventory())) },
    {
      method: 'POST', path: /^\/v1\/slices$/, access: 'session',
      handler: async (req, res) => {
        const b = (await readJson(req)) as Record<string, unknown>;
        await mapped(() => {
          const r = slices.create({ name: b.name as string, gpus: b.gpus as number, vcpus: b.vcpus as number, memoryMiB: size(b.memory, 'memory')!, diskMiB: size(b.disk, 'disk') });
          send(res, 201, r.slice);
        });
      },
    },
    {
      method: 'POST', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)\/start$/, access: 'session',
      handler: async (req, res, _u, name) => {
        const body = await readJson(req);
        const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
        if (b.run !== undefined && (typeof b.run !== 'string' || !b.run.startsWith('/'))) throw new HttpError(400, 'ERR_TFW_CONFIG', `run: expected the absolute path of an OCI image archive on the AIBox, got ${JSON.stringify(b.run)}`, 'run');
        await mapped(async () => {
          // With an overlay gateway, start() admits the VM in the background (`overlay` in GET /v1/slices).
          const r = await slices.start(name, { run: b.run as string | undefined });
          send(res, 200, slices.list().find((s) => s.name === name) ?? r.slice);
        });
      },
    },
    {
      method: 'POST', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)\/stop$/, access: 'session',
      handler: async (req, res, _u, name) => {
        const body = await readJson(req);
        const t = (body && typeof body === 'object' ? (body as Record<string, unknown>) : {}).timeout;
        if (t !== undefined && !(Number.isInteger(t) && (t as number) >= 0 && (t as number) <= 600)) throw new HttpError(400, 'ERR_TFW_CONFIG', `timeout: expected whole seconds from 0 to 600, got ${JSON.stringify(t)}`, 'timeout');
        await mapped(async () => (await slices.stop(name, { timeoutMs: t === undefined ? undefined : (t as number) * 1000 }), send(res, 200, { stopped: name })));
      },
    },
    {
      method: 'GET', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)\/console$/, access: 'session',
      handler: (_q, res, url, name) => {
        const k = url.searchParams.get('kib');
        const kib = k === null ? 64 : Number(k);
        if (!Number.isInteger(kib) || kib < 1 || kib > 1024) throw new HttpError(400, 'ERR_TFW_CONFIG', `kib: expected whole KiB from 1 to 1024, got ${JSON.stringify(k)}`, 'kib');
        return mapped(() => {
          const b = Buffer.from(slices.console(name, kib * 1024));
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': b.length, 'cache-control': 'no-store' });
          res.end(b);
        });
      },
    },
    { method: 'DELETE', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)$/, access: 'session', handler: (_q, res, _u, name) => mapped(async () => (await slices.delete(name), send(res, 200, { deleted: name }))) },
  ];
}
