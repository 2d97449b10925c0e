/**
 * The AIBox's slices in the device API (runtime/slices/manager.ts behind
 * HTTP), every route needing a session:
 *
 * - `GET /v1/slices`: `{ slices, usage }` (each slice with `running`);
 * - `GET /v1/slices/inventory`: GPUs with IOMMU groups, CPUs, memory;
 * - `POST /v1/slices` `{ name, gpus, vcpus, memory, disk? }` (sizes like 8G):
 *   201 with the slice, 409 with the one-line shortage when it does not fit;
 * - `POST /v1/slices/<name>/start`, `POST /v1/slices/<name>/stop`,
 *   `DELETE /v1/slices/<name>`: 404 for an unknown slice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TfwError } from '../errors.js';
import { parseSizeMiB, SliceNotFoundError, SliceRefusedError, type SliceManager } from '../slices/index.js';
import { HttpError, readJson, send } from './http.js';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, param: string) => Promise<void> | void;

/** Maps slice errors to HTTP: refusals 409, unknown slices 404, bad values 400. */
async function mapped(f: () => Promise<void> | void): Promise<void> {
  try {
    await f();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof SliceRefusedError) throw new HttpError(409, err.code, err.message);
    if (err instanceof SliceNotFoundError) throw new HttpError(404, err.code, err.message);
    if (err instanceof TfwError && err.code === 'ERR_TFW_CONFIG') throw new HttpError(400, err.code, err.message);
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
    { method: 'POST', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)\/start$/, access: 'session', handler: (_q, res, _u, name) => mapped(async () => send(res, 200, (await slices.start(name)).slice)) },
    { method: 'POST', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)\/stop$/, access: 'session', handler: (_q, res, _u, name) => mapped(async () => (await slices.stop(name), send(res, 200, { stopped: name }))) },
    { method: 'DELETE', path: /^\/v1\/slices\/([a-z][a-z0-9-]*)$/, access: 'session', handler: (_q, res, _u, name) => mapped(async () => (await slices.delete(name), send(res, 200, { deleted: name }))) },
  ];
}
