/**
 * `tfw pxe`: serve an image folder over HTTP for iPXE (`chain
 * http://ADDR:PORT/boot.ipxe`). Only the image's own files are served; the
 * default address is loopback. TFTP is not provided: chain-load iPXE first.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { imageDir } from '../../images/builder/paths.js';
import { loadBoard, loadRole } from '../../images/builder/schema.js';

const FILES: Record<string, string> = {
  '/boot.ipxe': 'text/plain',
  '/vmlinuz': 'application/octet-stream',
  '/initramfs.cpio.zst': 'application/octet-stream',
  '/cmdline': 'text/plain',
  '/manifest.json': 'application/json',
};

interface PxeFlags {
  board: string;
  role: string;
  dir?: string;
  listen: string;
  maxRequests?: string;
}

/** Parses ADDR:PORT (IPv4 or [IPv6]); throws naming --listen. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new TfwError('ERR_TFW_CONFIG', `--listen: expected ADDR:PORT like 127.0.0.1:8069, got "${s}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export function register(program: Command): void {
  program
    .command('pxe')
    .description('Serve an image over PXE (iPXE over HTTP/TFTP)')
    .option('-b, --board <board>', 'board name', 'pc-x86_64')
    .option('-r, --role <role>', 'image role', '3node')
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .option('-l, --listen <addr:port>', 'HTTP address (port 0 picks a free one)', '127.0.0.1:8069')
    .option('--max-requests <n>', 'exit after serving this many requests')
    .addHelpText('after', '\nBoot a machine with iPXE and run:  chain http://ADDR:PORT/boot.ipxe')
    .action(async (f: PxeFlags) => {
      const dir = f.dir ?? imageDir(loadBoard(f.board).name, loadRole(f.role).role);
      if (!existsSync(join(dir, 'boot.ipxe'))) throw new TfwError('ERR_TFW_IMAGE', `${dir} has no boot.ipxe; run tfw build --board ${f.board} --role ${f.role}`);
      const { host, port } = parseListen(f.listen);
      let left = f.maxRequests ? Number(f.maxRequests) : Infinity;
      const stop = () => {
        server.close();
        server.closeAllConnections();
      };
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        const type = FILES[path];
        process.stderr.write(`tfw: pxe: ${req.socket.remoteAddress} ${req.method} ${path}\n`);
        if (!type || (req.method !== 'GET' && req.method !== 'HEAD') || !existsSync(join(dir, path))) {
          res.writeHead(404).end();
        } else {
          res.writeHead(200, { 'content-type': type, 'content-length': statSync(join(dir, path)).size });
          if (req.method === 'HEAD') res.end();
          else createReadStream(join(dir, path)).pipe(res);
        }
        res.on('finish', () => {
          if (--left <= 0) stop();
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new TfwError('ERR_TFW_PXE', `--listen ${f.listen}: ${e.message}`)));
        server.listen(port, host, () => resolve());
      });
      const a = server.address();
      const url = typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/boot.ipxe` : '';
      process.stdout.write(`${url}\n`);
      process.stderr.write(`tfw: pxe: serving ${dir}; in iPXE: chain ${url}\n`);
      await new Promise<void>((resolve) => {
        server.once('close', () => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
