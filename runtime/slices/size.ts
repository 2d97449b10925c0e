/**
 * Sizes as `tfw slice create --memory 16G --disk 100G` takes them: a whole
 * number with a binary unit K, M, G or T (optionally followed by `iB` or `B`,
 * always powers of 1024, as QEMU's `-m` reads them). Results are MiB.
 */
import { TfwError } from '../errors.js';

const SIZE = /^(\d+)\s*([KMGT])(?:i?B)?$/i;
const UNIT_MIB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/**
 * Parses `text` (e.g. `512M`, `16G`, `2GiB`) into MiB, rounded up to a whole MiB.
 * @throws TfwError ERR_TFW_CONFIG naming `field` when the text is not a size or is 0
 */
export function parseSizeMiB(field: string, text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new TfwError('ERR_TFW_CONFIG', `${field}: expected a size like 512M or 16G, got "${text}"`);
  return Math.ceil(Number(m[1]) * UNIT_MIB[m[2].toUpperCase()]);
}

/** MiB as the shortest exact text (`16G`, `1536M`). */
export function formatMiB(mib: number): string {
  if (mib >= 1024 * 1024 && mib % (1024 * 1024) === 0) return `${mib / (1024 * 1024)}T`;
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024}G`;
  return `${mib}M`;
}
