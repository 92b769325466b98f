/**
 * eval/recon/joint/fgp.ts: the TNV dual step's unrolled two-element form equals its general element loop
 * bit for bit (with and without the HAADF row), on a shape with boundaries on every side.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fgpSlab, type FgpArgs } from './fgp.ts';

for (const kind of [1, 2]) {
  test(`TNV dual step, 2 elements, kind ${kind} (${kind === 2 ? 'with' : 'without'} the HAADF row), 5x4x6: unrolled equals the general loop bit for bit`, () => {
    const [nz, ny, nx] = [5, 4, 6], n = nz * ny * nx, rows = kind === 2 ? 3 : 2;
    let seed = 11;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const arr = (len: number, scale: number) => Float32Array.from({ length: len }, () => scale * rnd());
    const w = [arr(n, 4), arr(n, 4)], R = Array.from({ length: rows }, () => arr(3 * n, 1.5)), P = Array.from({ length: rows }, () => arr(3 * n, 1.5));
    const run = (general: boolean) => {
      const Pn = Array.from({ length: rows }, () => new Float32Array(3 * n)), Rn = Array.from({ length: rows }, () => new Float32Array(3 * n));
      const a: FgpArgs = { mode: 0, kind, nz, ny, nx, c: [0.19, 0.1], sh: 7.5, w, u: [], R, P, Pn, Rn, t: 0.8, step: 0.1, mom: 0.3, sums: new Float64Array(3), general };
      fgpSlab(a, 0, 4);
      fgpSlab(a, 4, nz);
      return Buffer.concat([...Pn, ...Rn].map((x) => Buffer.from(x.buffer)));
    };
    const unrolled = run(false), general = run(true);
    assert.ok(unrolled.equals(general), 'the unrolled dual step differs from the general loop');
    // the step moved the dual (some voxels projected onto the ball, the comparison is not of zeros)
    assert.ok(unrolled.some((b) => b !== 0));
  });
}

test.run();
