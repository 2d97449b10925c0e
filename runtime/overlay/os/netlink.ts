/**
 * Interface addresses through iproute2's `ip` (at start-up and reload, never
 * per packet). Routes go through kernel-routes.ts, in batches.
 */
import { execFileSync } from 'node:child_process';
import { parseCidr } from '../../config/ip.js';

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Adds `cidr` (interface address with its prefix length) to `dev`; an existing one is kept. */
export function addAddress(dev: string, cidr: string): void {
  const c = parseCidr(cidr)!;
  try {
    ip([c.bytes.length === 4 ? '-4' : '-6', 'addr', 'replace', cidr, 'dev', dev]);
  } catch (err) {
    throw new Error(`ip addr replace ${cidr} dev ${dev}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
}
