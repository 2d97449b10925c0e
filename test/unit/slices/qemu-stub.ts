/**
 * A QEMU stand-in for the slice manager's tests: a Node script, written as an
 * executable file, that takes the manager's QEMU argv and acts as QEMU does
 * where the manager looks. It writes its argv to `argv.json` beside the QMP
 * socket; a slice named `fail...` exits 1 at once with a vfio error on
 * stderr; `-serial file:` gets `tfw: init: booting`, then the VM's identity
 * line after 300 ms when `identityKey` is given; QMP answers every command
 * (`query-cpus-fast`: one vCPU on this process's thread) and exits on
 * `system_powerdown` unless the slice is named `deaf...`; a stale socket file
 * is replaced, as QEMU's unix server does. It exits by itself after 60 s.
 */
import { chmodSync, writeFileSync } from 'node:fs';

/**
 * Writes the stand-in to `path` (mode 0755) and returns `path`.
 * @param opts.identityKey a base64 public key for `tfw: identity: created KEY`
 */
export function writeQemuStub(path: string, opts: { identityKey?: string } = {}): string {
  const identity = opts.identityKey
    ? `setTimeout(() => fs.appendFileSync(serial, 'tfw: identity: created ${opts.identityKey}\\n'), 300);`
    : '';
  writeFileSync(path, `#!${process.execPath}
const fs = require('fs'), net = require('net'), path = require('path');
const a = process.argv.slice(2);
const name = a[a.indexOf('-name') + 1].split(',')[0].slice('slice-'.length);
const qmp = a[a.indexOf('-qmp') + 1].replace(/^unix:/, '').replace(/,server=on,wait=off$/, '');
fs.writeFileSync(path.join(path.dirname(qmp), 'argv.json'), JSON.stringify(a));
if (name.startsWith('fail')) { console.error("qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0: group 3 is not viable"); process.exit(1); }
const serial = a.includes('-serial') ? a[a.indexOf('-serial') + 1].replace(/^file:/, '') : null;
if (serial) fs.writeFileSync(serial, 'tfw: init: booting\\n');
${identity}
net.createServer((c) => {
  c.write(JSON.stringify({ QMP: { version: {}, capabilities: [] } }) + '\\n');
  let buf = '';
  c.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\\n')) >= 0; ) {
      const m = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
      // One vCPU whose thread is this process's main thread.
      const ret = m.execute === 'query-cpus-fast' ? [{ 'cpu-index': 0, 'thread-id': process.pid }] : {};
      c.write(JSON.stringify({ return: ret }) + '\\n');
      if (m.execute === 'system_powerdown' && !name.startsWith('deaf')) setTimeout(() => process.exit(0), 50);
    }
  });
}).listen((() => { try { fs.unlinkSync(qmp); } catch {} return qmp; })());
setTimeout(() => process.exit(3), 60000); // bounded: never outlives the test run
`);
  chmodSync(path, 0o755);
  return path;
}
