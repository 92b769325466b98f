import { test } from 'uvu';
import * as assert from 'uvu/assert';
import seedrandom from 'seedrandom';
import { RayTableOperator } from './ray-operator.ts';
import { ConfigError, InternalError } from '../../../core/validate.ts';
import { Projector, makeGeometry } from '../../../generators/projection/index.ts';

// 20 slices: two full chunks of 8 and a partial one of 4 (both kernel paths).
const geom = makeGeometry({ angles: Float64Array.from({ length: 13 }, (_, i) => -72 + i * 12), nz: 20, ny: 17, nx: 19, nCols: 27, axisOffset: 0.3 });
const rng = seedrandom('ray-operator');
const rand = (n: number) => Float32Array.from({ length: n }, () => rng() - 0.3);

test('ray-table operator: adjoint <Ax, y> = <x, A^T y> and equal to the matrix-free Projector to float rounding', async () => {
  const op = new RayTableOperator(geom, { workers: 1 }), ref = new Projector(geom, { workers: 1 });
  const x = rand(op.volumeSize), y = rand(op.tiltSeriesSize);
  const Ax = await op.forward(x), ATy = await op.back(y);
  let l = 0, r = 0, sl = 0, sr = 0;
  for (let i = 0; i < y.length; i++) { l += Ax[i] * y[i]; sl += Math.abs(Ax[i] * y[i]); }
  for (let j = 0; j < x.length; j++) { r += x[j] * ATy[j]; sr += Math.abs(x[j] * ATy[j]); }
  assert.ok(Math.abs(l - r) <= 1e-6 * Math.max(sl, sr), `<Ax,y> = ${l}, <x,A^T y> = ${r}`);
  const Rx = await ref.forward(x), RTy = await ref.back(y);
  const maxRel = (a: Float32Array, b: Float32Array) => { let d = 0, m = 0; for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); } return d / m; };
  assert.ok(maxRel(Ax, Rx) < 1e-5, `forward differs from the Projector by ${maxRel(Ax, Rx)}`);
  assert.ok(maxRel(ATy, RTy) < 1e-5, `back differs from the Projector by ${maxRel(ATy, RTy)}`);
  // A nonzero volume must project to something nonzero (the comparison above is not vacuous).
  assert.ok(maxRel(Ax, new Float32Array(Ax.length)) > 0);
  const rs = await op.rowSums(), cs = await op.colSums(), rrs = await ref.rowSums(), rcs = await ref.colSums();
  assert.ok(maxRel(rs, rrs) < 1e-5 && maxRel(cs, rcs) < 1e-5, 'row/column sums differ from the Projector');
});

test('ray-table operator: the wasm and JavaScript kernels are bit-identical (chunks of 8 and a partial one, odd chunk lanes), call after call', async () => {
  const x = rand(geom.nz * geom.ny * geom.nx), y = rand(geom.angles.length * geom.nz * geom.nCols);
  for (const chunk of [8, 3]) {
    const a = new RayTableOperator(geom, { kernel: 'wasm', chunk }), b = new RayTableOperator(geom, { kernel: 'rays', chunk });
    assert.is(a.kernel, 'wasm');
    // a sequence on the same operators: the wasm runner keeps its buffers between calls (no clears), so a
    // lane or accumulator left over from the call before would show here
    const x2 = rand(x.length), y2 = rand(y.length);
    for (const [k, op, v] of [[0, 'f', x], [1, 'b', y], [2, 'b', y2], [3, 'f', x2], [4, 'b', y], [5, 'f', x]] as const) {
      const [ra, rb] = op === 'f' ? [await a.forward(v), await b.forward(v)] : [await a.back(v), await b.back(v)];
      assert.ok(Buffer.from(ra.buffer).equals(Buffer.from(rb.buffer)), `chunk ${chunk}, call ${k} (${op === 'f' ? 'forward' : 'back'}) differs`);
    }
  }
});

test('ray-table operator on the core/pool.ts SharedPool: forward and back byte-identical for 1, 2 and 3 workers (wasm and JavaScript kernels)', async () => {
  const x = rand(geom.nz * geom.ny * geom.nx), y = rand(geom.angles.length * geom.nz * geom.nCols);
  for (const kernel of ['wasm', 'rays'] as const) {
    const a = new RayTableOperator(geom, { workers: 1, chunk: 4, kernel });
    const fa = Buffer.from((await a.forward(x)).buffer), ba = Buffer.from((await a.back(y)).buffer);
    assert.ok(fa.some((v) => v !== 0) && ba.some((v) => v !== 0), 'non-trivial projections');
    for (const workers of [2, 3]) {
      const b = new RayTableOperator(geom, { workers, chunk: 4, kernel });
      try {
        assert.is(b.workers, workers);
        assert.ok(fa.equals(Buffer.from((await b.forward(x)).buffer)), `${kernel}, ${workers} workers: forward differs`);
        assert.ok(ba.equals(Buffer.from((await b.back(y)).buffer)), `${kernel}, ${workers} workers: back differs`);
        // shared-memory inputs and outputs (the joint engine's path) give the same bytes
        const xs = b.sharedFloat32(x.length); xs.set(x);
        const out = b.sharedFloat32(y.length);
        await b.forward(xs, out);
        assert.ok(fa.equals(Buffer.from(out.buffer)), `${kernel}, ${workers} workers: forward on shared memory differs`);
      } finally { await b.close(); }
    }
  }
});

test('ray-table operator: a slab kernel runs on the pool over every slab once, and a kernel that throws rejects as an error naming the pool', async () => {
  const op = new RayTableOperator(geom, { workers: 2, chunk: 4 });
  try {
    const seen = op.sharedFloat32(geom.nz);
    await op.runSlabs({ name: 'mark', fn: (a: { seen: Float32Array }, z0: number, z1: number) => { for (let z = z0; z < z1; z++) a.seen[z] += z + 1; } }, { seen }, 3);
    assert.equal(Array.from(seen), Array.from({ length: geom.nz }, (_, z) => z + 1));
    await op.runSlabs({ name: 'bad', fn: () => { throw new RangeError('kernel bug'); } }, {}, 3).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /ray projector worker \d: RangeError: kernel bug/));
  } finally { await op.close(); }
});

test('ray-table operator: bad options and input sizes are ConfigErrors naming the field; a wrong output buffer is a bug', async () => {
  const isConfig = (field: string, re: RegExp) => (e: unknown) => e instanceof ConfigError && e.field === field && re.test(e.message);
  assert.throws(() => new RayTableOperator(geom, { chunk: 0 }), isConfig('projector.chunk', /got 0; must be an integer in \[1, 64\]/));
  assert.throws(() => new RayTableOperator(geom, { workers: 1.5 }), isConfig('workers', /got 1\.5; must be an integer >= 1/));
  const op = new RayTableOperator(geom);
  await op.forward(new Float32Array(5)).then(() => assert.unreachable(), (e: unknown) => assert.ok(isConfig('volume', /5 values; the projector expects 6460/)(e), String(e)));
  await op.back(new Float32Array(op.tiltSeriesSize), new Float32Array(3)).then(() => assert.unreachable(), (e: unknown) => assert.ok(e instanceof InternalError, String(e)));
});

test.run();
