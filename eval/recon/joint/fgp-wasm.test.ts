import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assembleFgpKernel, fgpWasmBytes, fgpWasmModule } from './fgp-wasm.ts';
import { FgpProx } from './fgp.ts';
import { RayTableOperator } from '../sirt/ray-operator.ts';

test('the committed FGP kernel binary is what fgp-kernel.wat assembles to with wabt', async () => {
  const built = await assembleFgpKernel();
  assert.ok(Buffer.from(built).equals(Buffer.from(fgpWasmBytes())), 'fgp-wasm-binary.ts is stale; run npm run build:wasm');
  assert.ok(fgpWasmModule(), 'the module compiles here (WebAssembly SIMD and shared memory)');
});

// The wasm FGP iterations against the JavaScript kernel: the same bits for every prox call, on shapes with
// boundaries on every side (nz odd, nz not a multiple of the slab), at 1, 2 and 3 workers.
for (const [shape, workers] of [[[11, 12, 16], 1], [[11, 12, 16], 2], [[20, 16, 32], 3], [[3, 2, 4], 1]] as const) {
  test(`TV prox ${shape.join('x')}, ${workers} worker(s): wasm kernel equals the JavaScript kernel bit for bit`, async () => {
    const [nz, ny, nx] = shape, n = nz * ny * nx;
    const op = new RayTableOperator({ angles: Float64Array.from([-60, 0, 60]), nz, ny, nx, nCols: Math.ceil(Math.max(ny, nx) * 1.5) + 2 }, { workers });
    try {
      let seed = 7;
      const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      // values below 0 too, so the result's clip at 0 acts (its -0 / pmax rule is part of what must agree)
      const init = [0, 1].map(() => Float32Array.from({ length: n }, () => (rnd() < 0.3 ? 0 : rnd() * 4 - 2)));
      const out: { u: Float32Array[]; v: (number | null)[] }[] = [];
      for (const k of ['js', 'auto'] as const) {
        const prox = new FgpProx(op, 'tv', [0.19, 0.1], [nz, ny, nx], 7, 1, k);
        assert.is(prox.kernel, k === 'js' ? 'js' : 'wasm');
        const u = init.map((a) => { const s = op.sharedFloat32(n); s.set(a); return s; });
        const v: (number | null)[] = [];
        for (let it = 0; it < 3; it++) v.push(await prox.apply(u, 0.3 + 0.4 * it));
        out.push({ u, v });
      }
      assert.equal(out[1].v, out[0].v, 'regulariser values');
      for (let e = 0; e < 2; e++) assert.ok(Buffer.from(out[1].u[e].buffer, out[1].u[e].byteOffset, 4 * n).equals(Buffer.from(out[0].u[e].buffer, out[0].u[e].byteOffset, 4 * n)), `element ${e}`);
      let moved = 0;
      for (let i = 0; i < n; i++) if (out[0].u[0][i] !== init[0][i]) moved++;
      assert.ok(moved > n / 2, `the prox changed the volume (${moved} of ${n} voxels)`);
      let clipped = 0;
      for (let e = 0; e < 2; e++) for (let i = 0; i < n; i++) { assert.ok(out[0].u[e][i] >= 0, 'the result is clipped at 0'); if (Object.is(out[0].u[e][i], 0)) clipped++; }
      assert.ok(clipped > 0, 'some voxels were clipped to 0');
    } finally { await op.close(); }
  });
}

test('nx not a multiple of 4 keeps the JavaScript kernel (nx 5 and 6), as does TNV', async () => {
  const op = new RayTableOperator({ angles: Float64Array.from([0, 90]), nz: 4, ny: 4, nx: 5, nCols: 9 }, { workers: 1 });
  assert.is(new FgpProx(op, 'tv', [1, 1], [4, 4, 5], 3, 1).kernel, 'js');
  assert.is(new FgpProx(op, 'tv', [1, 1], [4, 4, 6], 3, 1).kernel, 'js');
  assert.is(new FgpProx(op, 'tnv', [1, 1], [4, 4, 8], 3, 1).kernel, 'js');
  await op.close();
});

test.run();
