/**
 * `tfw store`: the 3Node object store (issue 16; docs/storage.md).
 *   tfw store serve --listen ADDR:PORT --data DIR      one 0-db-compatible shard backend
 *   tfw store --config store.yaml put FILE [--name KEY] | get KEY -o FILE | ls | rm KEY | check | repair | status
 * Flags over the runtime/storage library; progress bars on a terminal.
 */
import type { Command } from 'commander';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { TfwError } from '../../runtime/errors.js';
import { check, loadStoreConfig, ObjectStore, repair, startShardServer, status, type SyncPolicy } from '../../runtime/storage/index.js';

interface StoreFlags {
  config?: string;
  json?: boolean;
  quiet?: boolean;
}

const log = (m: string) => process.stderr.write(`tfw: store: ${m}\n`);

function open(cmd: Command): { store: ObjectStore; flags: StoreFlags } {
  const flags = cmd.optsWithGlobals() as StoreFlags;
  const path = flags.config ?? process.env.TFW_STORE_CONFIG ?? 'store.yaml';
  const store = new ObjectStore(loadStoreConfig(path), { log: process.env.TFW_DEBUG ? log : undefined });
  return { store, flags };
}

/** A progress bar on stderr when it is a terminal (none with --json or --quiet). */
function bar(flags: StoreFlags, total: number, label: string): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY || flags.json || flags.quiet) return { update() {}, stop() {} };
  const b = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} MiB {speed} MiB/s`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  const mib = (n: number) => Math.round(n / 1048576);
  b.start(mib(total), 0, { speed: '0' });
  return {
    update: (n) => b.update(mib(n), { speed: (n / 1048576 / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(0) }),
    stop: () => b.stop(),
  };
}

const human = (n: number) => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

async function withStore<T>(cmd: Command, fn: (s: ObjectStore, f: StoreFlags) => Promise<T>): Promise<T> {
  const { store, flags } = open(cmd);
  try {
    return await fn(store, flags);
  } finally {
    store.close();
  }
}

export function register(program: Command): void {
  const store = program
    .command('store')
    .description('Quantum Safe Storage: 0-db-compatible shard backends and an erasure-coded, encrypted object store')
    .option('--config <file>', 'store.yaml: secret, dataShards, parityShards, backends (default $TFW_STORE_CONFIG or ./store.yaml)')
    .option('--json', 'print results as JSON')
    .option('--quiet', 'no progress bars')
    .addHelpText(
      'after',
      '\nExamples:\n  tfw store serve --listen 127.0.0.1:9901 --data /tmp/zdb1\n  tfw store --config store.yaml put big.iso --name iso/big\n  tfw store --config store.yaml get iso/big -o big.iso\n  tfw store --config store.yaml ls --json\n  tfw store --config store.yaml check && tfw store --config store.yaml repair\n\nstore.yaml:\n  secret: <base64 of 32 bytes, e.g. from tfw keygen>\n  dataShards: 4\n  parityShards: 2\n  backends:\n    - { address: "127.0.0.1:9901", namespace: default }\n    - { address: "[400:1234::1]:9900", namespace: shards, password: pw }',
    );

  store
    .command('serve')
    .description('Run one 0-db-compatible shard backend (RESP; redis-cli works) until SIGTERM; prints the bound HOST:PORT on stdout')
    .requiredOption('--listen <addr>', 'HOST:PORT or [IPv6]:PORT (port 0: any free port)')
    .requiredOption('--data <dir>', 'data directory (one folder per namespace)')
    .option('--admin <password>', 'admin password for NSNEW/NSDEL/NSSET (default: none, every client is admin)')
    .option('--sync <policy>', 'always | interval | never: when records are fdatasync-ed (default interval, 1 s)', 'interval')
    .option('--compact-ratio <share>', 'compact a namespace once this share of its log is garbage (overwritten/deleted records) and at least 64 MiB; 0 = only on COMPACT', '0.5')
    .action(async (opts: { listen: string; data: string; admin?: string; sync: string; compactRatio: string }) => {
      if (!['always', 'interval', 'never'].includes(opts.sync)) throw new TfwError('ERR_TFW_USAGE', `--sync: expected always, interval or never, got ${JSON.stringify(opts.sync)}`);
      const ratio = Number(opts.compactRatio);
      if (!(ratio >= 0 && ratio <= 1)) throw new TfwError('ERR_TFW_USAGE', `--compact-ratio: expected a share 0..1, got ${JSON.stringify(opts.compactRatio)}`);
      const srv = await startShardServer({ listen: opts.listen, dataDir: opts.data, adminPassword: opts.admin, sync: opts.sync as SyncPolicy, compactRatio: ratio });
      process.stdout.write(`${srv.address}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => srv.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });

  store
    .command('put')
    .description('Store FILE (- for stdin) as an object, chunk by chunk')
    .argument('<file>')
    .option('--name <key>', 'object name (default: the file name)')
    .action(async (file: string, opts: { name?: string }, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        const name = opts.name ?? (file === '-' ? undefined : basename(file));
        if (!name) throw new TfwError('ERR_TFW_USAGE', '--name: required when reading stdin');
        const total = file === '-' ? 0 : statSync(file).size;
        const b = bar(flags, total, `put ${name}`);
        // Test seam (test/integration/storage/scenario.test.ts): die by SIGKILL after N shard writes, as a crash would.
        const crashAfter = Number(process.env.TFW_STORE_CRASH_AFTER_SHARDS ?? 0);
        let shards = 0;
        const beforeShardWrite = crashAfter > 0 ? () => void (++shards > crashAfter && process.kill(process.pid, 'SIGKILL')) : undefined;
        const info = await s.put(name, file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 }), { onProgress: (n) => b.update(n), beforeShardWrite });
        b.stop();
        if (flags.json) console.log(JSON.stringify(info));
        else console.log(`stored ${info.name}: ${human(info.size)} in ${info.chunks} chunks, (${info.dataShards},${info.parityShards})`);
      }),
    );

  store
    .command('get')
    .description('Read an object into FILE (written to FILE.partial, renamed when complete)')
    .argument('<key>')
    .requiredOption('-o, --output <file>', 'output file (- for stdout)')
    .action(async (key: string, opts: { output: string }, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        const info = await s.stat(key);
        const toStdout = opts.output === '-';
        const tmp = `${opts.output}.partial`;
        const out: NodeJS.WritableStream = toStdout ? process.stdout : createWriteStream(tmp);
        const b = bar(flags, info.size, `get ${key}`);
        out.on('error', () => {}); // a failed write (EPIPE: `| head`, ENOSPC) reaches the write callback below, reported as one line
        try {
          // pieces share one buffer (reuse): each is written out before the next is asked for
          for await (const piece of s.read(key, { onProgress: (n) => b.update(n), reuse: true })) {
            await new Promise<void>((resolve, reject) => out.write(piece, (err) => (err ? reject(err) : resolve())));
          }
          b.stop();
          if (!toStdout) {
            out.end();
            await finished(out as ReturnType<typeof createWriteStream>);
            renameSync(tmp, opts.output);
          }
        } catch (err) {
          b.stop();
          if (!toStdout) {
            (out as ReturnType<typeof createWriteStream>).destroy();
            rmSync(tmp, { force: true });
          }
          throw err;
        }
        if (!toStdout && !flags.json) console.log(`wrote ${opts.output}: ${human(info.size)}`);
        if (!toStdout && flags.json) console.log(JSON.stringify({ ...info, output: opts.output }));
      }),
    );

  store
    .command('ls')
    .description('List the objects this secret can read')
    .action(async (_o: unknown, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        const list = await s.list();
        if (flags.json) console.log(JSON.stringify(list));
        else for (const o of list) console.log(`${o.name}\t${o.size}\t${new Date(o.created).toISOString()}\t(${o.dataShards},${o.parityShards})`);
      }),
    );

  store
    .command('rm')
    .description('Remove an object (its metadata first, then its shards)')
    .argument('<key>')
    .action(async (key: string, _o: unknown, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        await s.remove(key);
        if (!flags.json) console.log(`removed ${key}`);
      }),
    );

  store
    .command('check')
    .description('Read every shard and report each object as healthy, degraded or lost (exit 1 unless all are healthy)')
    .action(async (_o: unknown, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        const r = await check(s);
        if (flags.json) console.log(JSON.stringify(r));
        else {
          for (const b of r.backends) if (!b.up) console.log(`backend ${b.label}: unreachable`);
          for (const o of r.objects) {
            console.log(`${o.name}\t${o.state}\tshards ok ${o.shards.ok}, missing ${o.shards.missing}, corrupt ${o.shards.corrupt}, unreachable ${o.shards.unreachable}; metadata ${o.metaShards}${o.sharedGroups ? `; ${o.sharedGroups} chunks share a failure group` : ''}`);
          }
          if (r.orphans) console.log(`orphan shards: ${r.orphans} (repair removes those older than an hour)`);
        }
        const bad = r.objects.filter((o) => o.state !== 'healthy');
        if (!r.healthy) {
          throw new TfwError('ERR_TFW_STORE_UNHEALTHY', `check: ${bad.filter((o) => o.state === 'degraded').length} degraded, ${bad.filter((o) => o.state === 'lost').length} lost, ${r.unreadable} unreadable of ${r.objects.length + r.unreadable} objects`);
        }
      }),
    );

  store
    .command('repair')
    .description('Rebuild missing or corrupt shards onto reachable backends, rewrite degraded metadata, remove old orphan shards')
    .option('--orphan-age <seconds>', 'remove orphan shards older than this (default 3600; a put may still be writing younger ones)', '3600')
    .action(async (opts: { orphanAge: string }, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        const age = Number(opts.orphanAge);
        if (!Number.isFinite(age) || age < 0) throw new TfwError('ERR_TFW_USAGE', `--orphan-age: expected seconds >= 0, got ${JSON.stringify(opts.orphanAge)}`);
        const b = { cur: undefined as ReturnType<typeof bar> | undefined };
        const r = await repair(s, {
          orphanAgeSeconds: age,
          onObject: (_n, i, total) => {
            b.cur ??= bar({ ...flags }, total * 1048576, 'repair');
            b.cur.update((i + 1) * 1048576);
          },
        });
        b.cur?.stop();
        if (flags.json) console.log(JSON.stringify(r));
        else console.log(`repaired ${r.repaired.length} objects (${r.shardsRewritten} shards rewritten), ${r.lost.length} lost, ${r.orphansRemoved} orphan shards removed`);
        if (r.lost.length) throw new TfwError('ERR_TFW_STORE_LOST', `repair: ${r.lost.length} objects have chunks with fewer than k intact shards: ${r.lost.slice(0, 5).join(', ')}`);
      }),
    );

  store
    .command('status')
    .description('Backends (reachable, entries, bytes), the (k,m) layout and the object count')
    .action(async (_o: unknown, cmd: Command) =>
      withStore(cmd, async (s, flags) => {
        const r = await status(s);
        if (flags.json) return console.log(JSON.stringify(r));
        console.log(`layout (${r.dataShards},${r.parityShards}); objects ${r.objects ?? '?'}, ${human(r.bytes ?? 0)}`);
        for (const b of r.backends) console.log(`${b.label}\t${b.up ? 'up' : 'down'}\t${b.up ? `${b.entries} entries, ${human(b.dataBytes ?? 0)}` : b.error}`);
      }),
    );
}
