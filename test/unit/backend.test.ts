import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableBackends, instantiateKernel, resolveBackend, wasmSimdSupported } from '../../runtime/kernels/backend.js';

test('resolveBackend rejects unknown names with the field named', () => {
  assert.throws(() => resolveBackend({ backend: 'gpu' as never }), /backend: expected one of/);
});

test('wasm resolves to the SIMD variant on engines that validate SIMD', () => {
  assert.is(resolveBackend({ backend: 'wasm' }), wasmSimdSupported() ? 'wasm-simd' : 'wasm-scalar');
  assert.ok(availableBackends().includes('wasm-scalar'));
});

test('native is refused with a clear error until the addon is built', () => {
  if (availableBackends().includes('native')) return;
  assert.throws(() => resolveBackend({ backend: 'native' }), /native addon is not built/);
});

test('both wasm variants of a kernel instantiate', () => {
  for (const v of ['wasm-simd', 'wasm-scalar'] as const) {
    if (v === 'wasm-simd' && !wasmSimdSupported()) continue;
    const inst = instantiateKernel('aead', v);
    assert.ok(Object.keys(inst.exports).length > 0);
  }
});

test.run();
