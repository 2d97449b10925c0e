/**
 * README.md's "Two overlay nodes" section, run as written (issue 19, item 2):
 * the commands come from the README itself, so it cannot drift. The set-up's
 * `export PATH=...` line (evaluated in the checkout) gives the `tfw` the
 * section calls; the first shell block makes keys and configs in a temporary
 * folder; B's command (named in the text) and the second block's lines run in
 * two network namespaces joined by a veth pair carrying the README's host
 * addresses (10.99.0.1, 10.99.0.2). A line ending in `&` is started and
 * waited for (its `overlay: up` log, as a user would) before the next one;
 * every other line must exit 0 within its bound. Then the status shows the
 * handshake. Needs root, ping and curl.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot } from '../helpers.js';
import { have, sleep, waitFor } from './overlay-netns.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const missing = [!isRoot && 'root', ...['ping', 'curl', 'ip'].filter((b) => !have(b))].filter(Boolean);
const skip = missing.length > 0;
if (skip) console.log(`  skip readme-two-nodes: needs ${missing.join(', ')}`);

/** The fenced blocks of `lang` between heading `title` and the next heading of the same level. */
export function readmeBlocks(markdown: string, title: string, lang: string): { blocks: string[]; prose: string } {
  const start = markdown.indexOf(`\n${title}\n`);
  if (start < 0) throw new Error(`README.md: no heading "${title}"`);
  const level = title.split(' ')[0]!;
  const rest = markdown.slice(start + title.length + 2);
  const end = rest.search(new RegExp(`^${level} `, 'm'));
  const section = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...section.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]!);
  return { blocks, prose: section.replace(/^```[\s\S]*?^```$/gm, '') };
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const tag = `trd${process.pid % 10000}`;
const NS_A = `${tag}a`, NS_B = `${tag}b`;
const dir = mkdtempSync(join(tmpdir(), 'tfw-readme-'));
const procs: ChildProcess[] = [];

/** The set-up's PATH line, evaluated in the checkout as a fresh clone's user would. */
function readmePath(): string {
  const setup = readmeBlocks(readme, '## Set-up', 'sh').blocks.join('\n');
  const line = setup.split('\n').find((l) => l.startsWith('export PATH='));
  assert.ok(line, 'README.md set-up: no export PATH= line');
  const r = spawnSync('bash', ['-c', `${line}\nprintf %s "$PATH"`], { cwd: ROOT, encoding: 'utf8' });
  return r.stdout;
}

/** Starts `cmd` (bash) in `ns` from the example's folder; resolves once `ready` is in its output, rejects if it exits or 60 s pass. */
async function startIn(ns: string, cmd: string, env: NodeJS.ProcessEnv, ready: string): Promise<() => string> {
  const child = spawn('ip', ['netns', 'exec', ns, 'bash', '-c', `exec ${cmd}`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const ok = await waitFor(() => out.includes(ready) || child.exitCode !== null, 60_000);
  if (!ok || !out.includes(ready)) throw new Error(`${ns}: ${cmd}: no "${ready}" (exit ${child.exitCode}): ${out.slice(-2000)}`);
  return () => out;
}

/** Runs one line in `ns` (bounded: 60 s); returns stdout, fails the test with the output when it exits non-zero. */
function runIn(ns: string, line: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', line], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `${line}: exit ${r.status ?? r.signal}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test.after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  await Promise.race([Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null))), sleep(5000)]);
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
});

test('README "Two overlay nodes": keys, configs, both runtimes, ping and status as written', async () => {
  if (skip) return;
  const { blocks, prose } = readmeBlocks(readme, '## Two overlay nodes', 'sh');
  assert.is(blocks.length, 2, 'expected two sh blocks: keys + configs, then host A');
  assert.not.match(prose + blocks.join(''), /\]\(https?:/, 'links outside the repository');
  const bCmd = prose.match(/On B run `([^`]+)`/)?.[1];
  assert.ok(bCmd, 'README.md: "On B run `...`" not found');
  const hostIps = [...prose.matchAll(/host ([AB])(?: is)? `(\d+\.\d+\.\d+\.\d+)`/gi)].map((m) => m[2]!);
  assert.is(hostIps.length, 2, 'README.md: the hosts\' addresses');

  const PATH = readmePath();
  // Each node gets its own UAPI socket folder (both call their interface tfw0; the sockets share the file system).
  const env = (n: string): NodeJS.ProcessEnv => ({ ...process.env, PATH, TFW_UAPI_DIR: join(dir, `uapi-${n}`) });
  for (const n of ['a', 'b']) mkdirSync(join(dir, `uapi-${n}`));
  assert.is(spawnSync('bash', ['-c', 'command -v tfw'], { env: env('a'), encoding: 'utf8' }).stdout.trim(), join(ROOT, 'build/bin/tfw'));

  const gen = spawnSync('bash', ['-e', '-c', blocks[0]!], { cwd: dir, env: env('a'), encoding: 'utf8', timeout: 60_000 });
  assert.is(gen.status, 0, `keys/configs block: ${gen.stderr}`);
  assert.match(readFileSync(join(dir, 'a.yaml'), 'utf8'), /^privateKey: [A-Za-z0-9+/]{43}=$/m);

  const veth = `${tag}v`;
  spawnSync('ip', ['netns', 'add', NS_A]);
  spawnSync('ip', ['netns', 'add', NS_B]);
  for (const args of [
    ['link', 'add', `${veth}a`, 'type', 'veth', 'peer', 'name', `${veth}b`],
    ['link', 'set', `${veth}a`, 'netns', NS_A],
    ['link', 'set', `${veth}b`, 'netns', NS_B],
    ['-n', NS_A, 'addr', 'add', `${hostIps[0]}/24`, 'dev', `${veth}a`],
    ['-n', NS_B, 'addr', 'add', `${hostIps[1]}/24`, 'dev', `${veth}b`],
    ['-n', NS_A, 'link', 'set', `${veth}a`, 'up'],
    ['-n', NS_B, 'link', 'set', `${veth}b`, 'up'],
    ['-n', NS_A, 'link', 'set', 'lo', 'up'],
    ['-n', NS_B, 'link', 'set', 'lo', 'up'],
  ]) {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    assert.is(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
  }

  await startIn(NS_B, bCmd!.replace(/\s*&$/, ''), env('b'), 'overlay: up');
  let status = '';
  for (const raw of blocks[1]!.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (!line) continue;
    if (line.endsWith('&')) await startIn(NS_A, line.slice(0, -1).trim(), env('a'), 'overlay: up');
    else {
      const out = runIn(NS_A, line, env('a'));
      if (line.startsWith('curl')) status = out;
    }
  }
  const s = JSON.parse(status) as { peers: Array<{ publicKey: string; lastHandshake: number; rxBytes: number }> };
  const bPub = readFileSync(join(dir, 'b.pub'), 'utf8').trim();
  assert.is(s.peers.length, 1);
  assert.is(s.peers[0]!.publicKey, bPub);
  assert.ok(s.peers[0]!.lastHandshake > 0, 'no handshake with B');
  assert.ok(s.peers[0]!.rxBytes > 0, 'nothing received from B');
});

test.run();
