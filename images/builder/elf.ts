/**
 * Just enough ELF (System V gABI, 64-bit little-endian: x86_64 and AArch64) to
 * collect what a binary needs at run time: its program interpreter (PT_INTERP)
 * and its DT_NEEDED sonames, plus named sections such as a kernel module's
 * `.modinfo`. Reading the headers ourselves works for any target arch on any host.
 */
import { TfwError } from '../../runtime/errors.js';

const PT_INTERP = 3;
const SHT_DYNAMIC = 6;
const DT_NEEDED = 1;

export interface ElfInfo {
  machine: number;
  interp?: string;
  needed: string[];
}

const cstr = (b: Buffer, off: number): string => b.toString('latin1', off, b.indexOf(0, off));

function check(b: Buffer, what: string): void {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new TfwError('ERR_TFW_ELF', `${what}: not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new TfwError('ERR_TFW_ELF', `${what}: expected a 64-bit little-endian ELF file`);
}

interface Section { name: string; type: number; offset: number; size: number; link: number }

function sections(b: Buffer): Section[] {
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  if (shoff === 0 || shnum === 0) return [];
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push({ nameOff: b.readUInt32LE(o), type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)), link: b.readUInt32LE(o + 0x28) });
  }
  const strtab = raw[shstrndx];
  return raw.map((s) => ({ name: strtab ? cstr(b, strtab.offset + s.nameOff) : '', type: s.type, offset: s.offset, size: s.size, link: s.link }));
}

/** Interpreter and DT_NEEDED entries of an executable or shared library. */
export function readElf(b: Buffer, what = 'file'): ElfInfo {
  check(b, what);
  const info: ElfInfo = { machine: b.readUInt16LE(0x12), needed: [] };
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  for (let i = 0, n = b.readUInt16LE(0x38); i < n; i++) {
    const o = phoff + i * phentsize;
    if (b.readUInt32LE(o) === PT_INTERP) info.interp = cstr(b, Number(b.readBigUInt64LE(o + 8)));
  }
  const secs = sections(b);
  const dyn = secs.find((s) => s.type === SHT_DYNAMIC);
  if (dyn) {
    const strtab = secs[dyn.link];
    for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.size; o += 16) {
      const tag = b.readBigInt64LE(o);
      if (tag === 0n) break;
      if (tag === BigInt(DT_NEEDED)) info.needed.push(cstr(b, strtab.offset + Number(b.readBigUInt64LE(o + 8))));
    }
  }
  return info;
}

/** The bytes of a named section, or undefined. */
export function elfSection(b: Buffer, name: string, what = 'file'): Buffer | undefined {
  check(b, what);
  const s = sections(b).find((x) => x.name === name);
  return s ? b.subarray(s.offset, s.offset + s.size) : undefined;
}

/** A kernel module's dependencies from its `.modinfo` `depends=` field (comma-separated). */
export function moduleDepends(ko: Buffer, what = 'module'): string[] {
  const info = elfSection(ko, '.modinfo', what);
  if (!info) return [];
  for (const kv of info.toString('latin1').split('\0')) {
    if (kv.startsWith('depends=')) return kv.slice(8).split(',').filter(Boolean);
  }
  return [];
}

/** ELF e_machine for each tfw arch. */
export const ELF_MACHINE = { x86_64: 62, arm64: 183 } as const;
