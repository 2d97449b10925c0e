/**
 * Kernel self-test run at start-up: each kernel checks a known-answer vector on
 * its chosen backend and reports a quick throughput figure. Kernels register
 * themselves in `selfTests` (one entry per kernel).
 */
export interface SelfTestResult {
  kernel: string;
  backend: string;
  ok: boolean;
  /** Human-readable figure, e.g. '512 MB/s'. */
  figure: string;
}

export const selfTests: Array<() => SelfTestResult | Promise<SelfTestResult>> = [];

/** Runs every registered self-test; returns one line per kernel. */
export async function selfTest(): Promise<string[]> {
  const lines: string[] = [];
  for (const t of selfTests) {
    try {
      const r = await t();
      lines.push(`${r.kernel} ${r.backend} ${r.ok ? 'ok' : 'FAIL'} ${r.figure}`);
    } catch (err) {
      lines.push(`FAIL ${(err as Error).message}`);
    }
  }
  if (lines.length === 0) lines.push('no kernels registered');
  return lines;
}
