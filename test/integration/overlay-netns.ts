/**
 * Helpers for overlay integration tests: two network namespaces joined by a
 * veth pair (10.99.N.1 <-> 10.99.N.2), processes started inside them, and
 * polling waits (bounded; no timing assertions). Everything is created with
 * unique names and removed by `cleanup()`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

export const have = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

export function sh(args: string[], input?: string): string {
  return execFileSync(args[0], args.slice(1), { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 100 ms until true or `ms` passed; returns the last result. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(100);
  }
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

export function spawnIn(ns: string, argv: string[], env: Record<string, string> = {}): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

/** `tfw runtime --config file` inside a namespace. */
export const tfwRuntime = (ns: string, config: string): Proc =>
  spawnIn(ns, [process.execPath, '--import', 'tsx', join(ROOT, 'host-tools/bin/tfw.mjs'), 'runtime', '--config', config]);

/** GET /status over a Unix socket. */
export function getStatus(socketPath: string): Promise<any> {
  return new Promise((res, rej) => {
    const req = request({ socketPath, path: '/status' }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => {
        try {
          res(JSON.parse(body));
        } catch (e) {
          rej(e);
        }
      });
    });
    req.on('error', rej);
    req.end();
  });
}

/**
 * A star of namespaces for a device and its peers: makes `hub` and every one
 * of `spokes` (lo up; a stale namespace of the same name is removed first)
 * and joins the hub to the n-th spoke (n from 1) by a veth link on
 * 10.97.n.0/24: `${hubDev}${n}` at .1 on the hub's side, `${spokeDev}${n}`
 * at .2 on the spoke's. Remove them with `ip netns del`.
 * @throws Error (from sh) when ip(8) refuses
 */
export function netnsStar(hub: string, spokes: string[], hubDev: string, spokeDev: string): void {
  for (const ns of [hub, ...spokes]) {
    spawnSync('ip', ['netns', 'del', ns]);
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  spokes.forEach((other, i) => {
    const n = i + 1;
    const [dh, dx] = [`${hubDev}${n}`, `${spokeDev}${n}`];
    sh(['ip', 'link', 'add', dh, 'netns', hub, 'type', 'veth', 'peer', 'name', dx, 'netns', other]);
    for (const [ns, dev, ip] of [[hub, dh, `10.97.${n}.1/24`], [other, dx, `10.97.${n}.2/24`]]) {
      sh(['ip', '-n', ns, 'addr', 'add', ip, 'dev', dev]);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
  });
}

export function ping(ns: string, addr: string, count = 3): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-W', '3', '-i', '0.3', addr], { stdio: 'ignore' }).status === 0;
}

/**
 * Joins namespaces `x` and `y` by a veth pair, `dx` in x with `ipX` and `dy`
 * in y with `ipY` (addresses without the /24, which is added), both up.
 * @throws Error (from sh) when ip(8) refuses
 */
export function vethLink(x: string, y: string, dx: string, dy: string, ipX: string, ipY: string): void {
  sh(['ip', 'link', 'add', dx, 'netns', x, 'type', 'veth', 'peer', 'name', dy, 'netns', y]);
  for (const [ns, dev, ip] of [[x, dx, ipX], [y, dy, ipY]]) {
    sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
}

/** Namespaces of one test with their folder and processes: `cleanup()` stops the processes, removes the namespaces and the files. */
abstract class NetnsGroup {
  readonly dir = mkdtempSync(join(tmpdir(), 'tfw-ov-'));
  private procs: Proc[] = [];
  protected abstract namespaces(): string[];

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  }

  track(p: Proc): Proc {
    this.procs.push(p);
    return p;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.pid) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), sleep(3000)]);
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const ns of this.namespaces()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class NetnsPair extends NetnsGroup {
  readonly a: string;
  readonly b: string;
  readonly ipA: string;
  readonly ipB: string;
  protected namespaces(): string[] {
    return [this.a, this.b];
  }

  constructor(tag: string, subnet: number) {
    super();
    const id = `${tag}${process.pid % 10000}`;
    this.a = `${id}a`;
    this.b = `${id}b`;
    this.ipA = `10.99.${subnet}.1`;
    this.ipB = `10.99.${subnet}.2`;
    sh(['ip', 'netns', 'add', this.a]);
    sh(['ip', 'netns', 'add', this.b]);
    sh(['ip', 'link', 'add', `${id}va`, 'type', 'veth', 'peer', 'name', `${id}vb`]);
    sh(['ip', 'link', 'set', `${id}va`, 'netns', this.a]);
    sh(['ip', 'link', 'set', `${id}vb`, 'netns', this.b]);
    for (const [ns, dev, ip] of [[this.a, `${id}va`, this.ipA], [this.b, `${id}vb`, this.ipB]]) {
      sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }
}

/**
 * Three network namespaces in a line A - B - C: veth A-B on 10.99.`subnet`.0/24
 * (A .1, B .2) and veth B-C on 10.99.`subnet + 1`.0/24 (B .1, C .2); A and C
 * share no link. Names start with `tag` and the pid; `cleanup()` removes
 * them, the processes tracked and the files written.
 * @throws Error (from sh) when ip(8) refuses; what was made is removed first
 */
export class NetnsLine extends NetnsGroup {
  readonly a: string;
  readonly b: string;
  readonly c: string;
  /** A's and B's addresses on the A-B link, B's and C's on the B-C link. */
  readonly ipAB: string;
  readonly ipBA: string;
  readonly ipBC: string;
  readonly ipCB: string;
  protected namespaces(): string[] {
    return [this.a, this.b, this.c];
  }

  constructor(tag: string, subnet: number) {
    super();
    const id = `${tag}${process.pid % 10000}`;
    [this.a, this.b, this.c] = [`${id}a`, `${id}b`, `${id}c`];
    [this.ipAB, this.ipBA] = [`10.99.${subnet}.1`, `10.99.${subnet}.2`];
    [this.ipBC, this.ipCB] = [`10.99.${subnet + 1}.1`, `10.99.${subnet + 1}.2`];
    try {
      for (const ns of [this.a, this.b, this.c]) {
        spawnSync('ip', ['netns', 'del', ns]);
        sh(['ip', 'netns', 'add', ns]);
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
      for (const [x, y, ipX, ipY, dx, dy] of [
        [this.a, this.b, this.ipAB, this.ipBA, `${id}ab`, `${id}ba`],
        [this.b, this.c, this.ipBC, this.ipCB, `${id}bc`, `${id}cb`],
      ]) vethLink(x, y, dx, dy, ipX, ipY);
    } catch (err) {
      for (const ns of [this.a, this.b, this.c]) spawnSync('ip', ['netns', 'del', ns]);
      rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
  }
}
