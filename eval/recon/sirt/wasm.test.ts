import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assembleSirtKernel, expandSirtKernel, SIRT_WASM_LANES } from './kernel-source.ts';
import { sirtWasmModule } from './wasm.ts';
import { SIRT_WASM_INDEX } from './wasm-binaries.ts';

test('the committed SIRT kernel binaries are what sirt-kernel.wat assembles to with wabt, for every lane count', async () => {
  assert.equal(Object.keys(SIRT_WASM_INDEX).map(Number), [...SIRT_WASM_LANES], 'lane counts of wasm-binaries.ts');
  for (const W of SIRT_WASM_LANES) {
    const built = await assembleSirtKernel(W), committed = sirtWasmModule(W);
    assert.ok(Buffer.from(built).equals(Buffer.from(committed)), `${W} lanes: wasm-binaries.ts is stale; run npm run build:wasm`);
    assert.ok(WebAssembly.validate(committed), `${W} lanes: invalid module`);
  }
});

test('the template unrolls one accumulator per f64x2 vector and refuses odd lane counts', () => {
  const text = expandSirtKernel(6);
  // 3 vectors in each of sweep, project and backproject
  assert.equal((text.match(/\(local \$acc\d+ v128\)/g) ?? []).length, 9);
  // A^T r of the last vector (k = 2) at 8 W + 16 k = 48 + 32 bytes; nothing past it
  assert.ok(text.includes('v128.load offset=80'), 'A^T r of vector 2');
  assert.not.ok(text.includes('offset=96'), 'a fourth vector');
  assert.not.match(text, /\{(k|off|offBP|rowBytes|recBytes)\}/);
  assert.throws(() => expandSirtKernel(5), /even/);
  assert.throws(() => sirtWasmModule(66), /no kernel built for 66 lanes/);
});

test.run();
