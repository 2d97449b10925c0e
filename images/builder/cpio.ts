/**
 * A deterministic cpio "newc" (SVR4, no CRC) writer for initramfs archives, the
 * format the kernel unpacks at boot (Documentation/driver-api/early-userspace/
 * buffer-format.rst). Entries are written in the order given (callers sort
 * them), with inode numbers counted from 1, owner 0:0 and one fixed mtime, so
 * the same tree always gives the same bytes.
 */

export type CpioEntry =
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'file'; mode: number; data: Uint8Array }
  | { path: string; type: 'symlink'; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

const hex8 = (n: number): string => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio: field value ${n} does not fit 32 bits`);
  return n.toString(16).padStart(8, '0');
};
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, nlink: number, mtime: number, size: number, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [ino, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0, nameBytes.length, 0];
  const head = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length))]);
}

/**
 * Serialises `entries` (paths relative to the archive root, no leading slash)
 * followed by the TRAILER!!! record. `mtime` is in Unix seconds.
 */
export function writeCpio(entries: CpioEntry[], mtime: number): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path === '') throw new RangeError(`cpio: path must be relative, got "${e.path}"`);
    if (e.type === 'dir') chunks.push(header(ino++, S_IFDIR | e.mode, 2, mtime, 0, e.path));
    else if (e.type === 'symlink') {
      const t = Buffer.from(e.target, 'utf8');
      chunks.push(header(ino++, S_IFLNK | 0o777, 1, mtime, t.length, e.path), t, Buffer.alloc(pad4(t.length)));
    } else {
      chunks.push(header(ino++, S_IFREG | e.mode, 1, mtime, e.data.length, e.path), Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length), Buffer.alloc(pad4(e.data.length)));
    }
  }
  chunks.push(header(0, 0, 1, 0, 0, 'TRAILER!!!'));
  return Buffer.concat(chunks);
}
