/** Shared test helpers: deterministic randomness, environment checks, running the CLI. */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import * as assert from 'uvu/assert';
import { ConfigError } from '../runtime/errors.js';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

/** True when the suite runs as root (network namespaces, TUN and QEMU tests need it). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Deterministic PRNG (xorshift128+, Vigna 2014) so failing cases can be replayed:
 * set TFW_TEST_SEED to the seed printed by a failing test.
 */
export function prng(seed = Number(process.env.TFW_TEST_SEED ?? 0x7f4a7c15)) {
  let s0 = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  let s1 = BigInt.asUintN(64, s0 ^ 0x6a09e667f3bcc909n);
  const next = (): bigint => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = BigInt.asUintN(64, x ^ (x << 23n));
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return BigInt.asUintN(64, s1 + y);
  };
  return {
    seed,
    /** Uniform integer in [0, n). */
    int(n: number): number {
      return Number(next() % BigInt(n));
    },
    /** n pseudo-random bytes. */
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 8) {
        let v = next();
        for (let j = 0; j < 8 && i + j < n; j++, v >>= 8n) out[i + j] = Number(v & 0xffn);
      }
      return out;
    },
  };
}

/**
 * Resolves with the message of `p`'s rejection (uvu has no assert.rejects);
 * rejects with an assertion error when `p` resolves.
 */
export async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  const { Assertion } = await import('uvu/assert');
  throw new Assertion({ message: 'expected a rejection', operator: 'rejects', expects: 'rejection', actual: 'resolved' });
}

/** Cryptographically random bytes (for cross-checks where any input must work). */
export const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));

/** The `tfw` CLI entry point (host-tools/bin/tfw.mjs). */
export const tfwBin = fileURLToPath(new URL('../host-tools/bin/tfw.mjs', import.meta.url));

/** Runs the `tfw` CLI with `args` in a child Node; resolves with its exit code, stdout and stderr (never rejects). */
export function runTfw(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [tfwBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** True when UDP `port` can be bound on every IPv4 address (what QEMU's mcast and dgram netdevs need). */
function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free UDP ports below Linux's ephemeral range (32768+, which
 * sockets bound to port 0 draw from, so a fixed port there can be taken by then):
 * random blocks in 20000..32000, each port checked by binding it.
 * @throws Error when 50 random blocks were all partly taken
 */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = randomInt(20000, 32000 - count);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await udpPortFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free UDP ports in 20000..32000`);
}

/** A free TCP port on 127.0.0.1 below the ephemeral range (20000..32000, checked by binding it). */
export async function freeTcpPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = randomInt(20000, 32000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error('no free TCP port in 20000..32000');
}

/** Asserts that `fn` throws a ConfigError (ERR_TFW_CONFIG) naming `field`, its message matching `re`. */
export function throwsField(fn: () => unknown, field: string, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).field, field, (e as Error).message);
    assert.is((e as ConfigError).code, 'ERR_TFW_CONFIG');
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ConfigError on ${field}`);
}

/**
 * Runs the CLI's main() in this process (no tsx start-up: seconds cheaper per
 * call than runTfw on a loaded machine), stdin not a terminal; resolves with
 * the exit code and what it wrote to stdout and stderr.
 */
export async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../host-tools/cli.js');
  let stdout = '';
  let stderr = '';
  const [out, err] = [process.stdout.write, process.stderr.write];
  const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += c.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += c.toString()), true)) as typeof process.stderr.write;
  Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    [process.stdout.write, process.stderr.write] = [out, err];
    if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  }
}
