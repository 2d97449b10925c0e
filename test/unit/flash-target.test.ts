/**
 * images/builder/flash-target.ts on injected inputs: mountinfo parsing
 * (proc(5), octal escapes), Linux device-number decoding, and deviceInUse over
 * a fake /sys/class/block tree (a disk with two partitions): free, a mounted
 * partition (by major:minor and by source), swap, a holder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceInUse, majorMinor, parseMountinfo } from '../../images/builder/flash-target.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '45 22 259:1 / /mnt/my\\040stick rw,relatime - vfat /dev/sdb2 rw',
  '46 22 0:45 / /proc rw - proc proc rw',
].join('\n');

test('parseMountinfo reads device, mount point (unescaped) and source, with and without optional fields', () => {
  assert.equal(parseMountinfo(MOUNTINFO), [
    { dev: '8:1', mountPoint: '/', source: '/dev/sda1' },
    { dev: '259:1', mountPoint: '/mnt/my stick', source: '/dev/sdb2' },
    { dev: '0:45', mountPoint: '/proc', source: 'proc' },
  ]);
});

test('majorMinor decodes Linux device numbers (small and large minors)', () => {
  assert.is(majorMinor(0x0801), '8:1');
  assert.is(majorMinor((259 << 8) | 1), '259:1');
  // minor 300: low 8 bits in 0..7, the rest from bit 20 (new_encode_dev).
  assert.is(majorMinor((7 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12)), '7:300');
});

function fakeSys(): string {
  const sys = mkdtempSync(join(tmpdir(), 'tfw-sys-'));
  const mk = (p: string, dev: string, partition: boolean) => {
    mkdirSync(join(sys, p, 'holders'), { recursive: true });
    writeFileSync(join(sys, p, 'dev'), `${dev}\n`);
    if (partition) writeFileSync(join(sys, p, 'partition'), '1\n');
  };
  mk('sdb', '8:16', false);
  mk('sdb/sdb1', '259:0', true);
  mk('sdb/sdb2', '259:1', true);
  mkdirSync(join(sys, 'sdb', 'queue')); // not a partition: ignored
  return sys;
}

test('deviceInUse: free, mounted partition, mounted by source name, swap, held', () => {
  const sys = fakeSys();
  try {
    const none = '22 1 8:1 / / rw - ext4 /dev/sda1 rw';
    assert.is(deviceInUse('sdb', { sys, mountinfo: none, swaps: '' }), undefined);
    assert.is(deviceInUse('sdb', { sys, mountinfo: MOUNTINFO, swaps: '' }), 'its partition /dev/sdb2 is mounted on /mnt/my stick; unmount it first');
    assert.is(deviceInUse('sdb', { sys, mountinfo: '50 1 0:99 / /data rw - btrfs /dev/sdb1 rw', swaps: '' }), 'its partition /dev/sdb1 is mounted on /data; unmount it first');
    assert.is(deviceInUse('sdb', { sys, mountinfo: '50 1 8:16 / /whole rw - ext4 /dev/sdb rw', swaps: '' }), 'it is mounted on /whole; unmount it first');
    const swaps = 'Filename\tType\tSize\tUsed\tPriority\n/dev/sdb1  partition\t1024\t0\t-2\n';
    assert.is(deviceInUse('sdb', { sys, mountinfo: none, swaps }), '/dev/sdb1 is in use as swap; swapoff it first');
    writeFileSync(join(sys, 'sdb', 'sdb2', 'holders', 'dm-0'), '');
    assert.match(deviceInUse('sdb', { sys, mountinfo: none, swaps: '' }) ?? '', /^its partition \/dev\/sdb2 is held by \/dev\/dm-0 /);
  } finally {
    rmSync(sys, { recursive: true, force: true });
  }
});

test.run();
