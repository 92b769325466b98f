/** Thread-count independence: slice-parallel SIRT gives the same bytes with 1, 2, 3 and 4 workers (both kernels). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sirtFast, type SirtKernel } from './slices.ts';
import { wasmSimdAvailable } from './wasm.ts';
import { bytes, randomArray } from '../../../core/testing/arrays.ts';

test('SIRT volumes are byte-identical for 1, 2, 3 and 4 workers (9 chunks of 2 slices, min constraint)', async () => {
  const angles = Float64Array.from({ length: 9 }, (_, i) => -80 + 20 * i);
  const nz = 17, ny = 12, nx = 12, nCols = 16;
  const b = randomArray(angles.length * nz * nCols, 9);
  const kernels: SirtKernel[] = wasmSimdAvailable() ? ['wasm', 'rays'] : ['rays'];
  for (const kernel of kernels) {
    let ref: Buffer | null = null;
    for (const workers of [1, 2, 3, 4]) {
      const x = bytes(await sirtFast(b, { nz, ny, nx, nCols, angles, iterations: 4, minConstraint: 0, chunk: 2, workers, kernel, axisOffset: 0.5 }));
      if (!ref) { ref = x; assert.ok(x.some((v) => v !== 0), 'non-trivial volume'); continue; }
      assert.ok(x.equals(ref), `${kernel} kernel with ${workers} workers`);
    }
  }
});

test.run();
