/**
 * Loading the addon (runtime/kernels/native.ts): backend registration, the
 * self-test, and the wasm-only case (TFW_NATIVE=0 / a missing file), where
 * openTun, bindUdp and the raw kernels throw BackendUnavailableError saying how
 * to build it, while the package keeps working.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableBackends, resolveBackend } from '../../runtime/kernels/backend.js';
import { nativeAvailable, nativeLoadError, selfTest } from '../../runtime/kernels/native.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Runs a snippet in a fresh process (the addon is cached per process) and returns its JSON output. */
function probe(env: Record<string, string>): Record<string, string> {
  const script = `
    const out = {};
    const k = await import(${JSON.stringify(here('../../runtime/kernels/native.ts'))});
    const t = await import(${JSON.stringify(here('../../runtime/overlay/os/tun.ts'))});
    const c = await import(${JSON.stringify(here('../../runtime/overlay/links/conn.ts'))});
    const b = await import(${JSON.stringify(here('../../runtime/kernels/backend.ts'))});
    const grab = (f) => { try { f(); return 'no error'; } catch (e) { return e.code + ': ' + e.message; } };
    out.available = String(k.nativeAvailable());
    out.tun = grab(() => t.openTun('tfw0'));
    out.udp = grab(() => c.bindUdp({ port: 0 }));
    out.rs = grab(() => k.nativeRs.isa());
    out.backend = grab(() => b.resolveBackend({ backend: 'native' }));
    out.endpoint = c.Endpoint.parse('10.0.0.1:5').toString();
    // The kernels keep working on wasm under 'auto'.
    const a = await import(${JSON.stringify(here('../../runtime/kernels/aead.ts'))});
    const e = await import(${JSON.stringify(here('../../runtime/kernels/erasure.ts'))});
    const f = await import(${JSON.stringify(here('../../runtime/kernels/forward.ts'))});
    const sealed = a.chacha20poly1305Seal(new Uint8Array(32), new Uint8Array(12), new Uint8Array(3));
    out.aead = Buffer.from(sealed).toString('hex');
    const rs = new e.ReedSolomon(2, 1); const sh = [Uint8Array.of(1, 2), Uint8Array.of(3, 4), null]; rs.encode(sh);
    out.erasure = Array.from(sh[2]).join(',');
    const fib = new f.Fib('ipv4'); fib.insert('10.0.0.0/8', 7);
    out.forward = String(fib.lookup('10.1.2.3'));
    out.auto = ['aead', 'erasure', 'forward'].map((k) => b.resolveBackend({ backend: 'auto' }, k)).join(',');
    console.log('RESULT ' + JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `probe failed: ${r.stderr}`);
  return JSON.parse(line!.slice(7));
}

test('without the addon everything that needs it says how to build it', () => {
  const envs: Record<string, string>[] = [{ TFW_NATIVE: '0' }, { TFW_NATIVE_PATH: '/nonexistent/tfw.node' }];
  for (const env of envs) {
    const out = probe(env);
    assert.is(out.available, 'false');
    for (const k of ['tun', 'udp', 'rs'] as const) {
      assert.match(out[k], /^ERR_TFW_BACKEND_UNAVAILABLE: (tun|udp|erasure): native addon not available: /);
    }
    assert.match(out.tun, env.TFW_NATIVE ? /disabled by TFW_NATIVE=0/ : /run `make native`/);
    assert.match(out.backend, /ERR_TFW_BACKEND_UNAVAILABLE: backend: native addon is not built/);
    assert.is(out.endpoint, '10.0.0.1:5', 'pure-TS parts keep working');
    // RFC 8439 2.4 keystream of the zero key/nonce at counter 1 XOR 0,0,0 = 9f 07 e7, then the tag.
    assert.is(out.aead.slice(0, 6), '9f07e7', 'aead seals on wasm');
    assert.is(out.aead.length, (3 + 16) * 2);
    assert.is(out.erasure, '5,14', 'erasure parity on wasm (klauspost (2,1) matrix, as referenceParity computes it)');
    assert.is(out.forward, '7', 'forward looks up on wasm');
    assert.not.match(out.auto, /native/, 'auto never picks native without the addon');
  }
});

test('a loaded addon registers the native backend and passes its self-test', () => {
  const r = selfTest();
  if (!nativeAvailable()) {
    console.log(`tfw: test: native-loader: addon not built (${nativeLoadError()})`);
    assert.is(r.backend, 'none');
    return;
  }
  assert.ok(availableBackends().includes('native'));
  assert.is(resolveBackend({ backend: 'native' }), 'native');
  assert.ok(r.ok, JSON.stringify(r));
  assert.match(r.figure, /MB\/s/);
});

test.run();
