/**
 * Interface addresses and routes through iproute2's `ip` (the overlay's only
 * shell-out, at start-up and reload, never per packet). Default routes (/0) are
 * not installed: wg-quick needs policy routing for those, which tfw leaves to
 * the image's network config.
 */
import { execFileSync } from 'node:child_process';
import { formatCidr, maskCidr, parseCidr } from '../config/ip.js';

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

/** Points `cidr` at `dev` (ip route replace); returns false for /0 prefixes, which are skipped. */
export function addRoute(dev: string, cidr: string): boolean {
  const c = maskCidr(parseCidr(cidr)!);
  if (c.bits === 0) return false;
  try {
    ip([c.bytes.length === 4 ? '-4' : '-6', 'route', 'replace', formatCidr(c), 'dev', dev]);
  } catch (err) {
    throw new Error(`ip route replace ${formatCidr(c)} dev ${dev}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
  return true;
}

/** Removes a route from `dev`, ignoring a missing one. */
export function deleteRoute(dev: string, cidr: string): void {
  const c = maskCidr(parseCidr(cidr)!);
  try {
    ip([c.bytes.length === 4 ? '-4' : '-6', 'route', 'del', formatCidr(c), 'dev', dev]);
  } catch {
    /* already gone */
  }
}
