/** Thread-count independence: 1, 2, 3 and 4 projector workers (oversubscribing 2 cores) give the same bytes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Projector, parseTiltAngles } from './index.ts';
import { bytes, randomArray } from '../../core/testing/arrays.ts';

test('forward and back projection are byte-identical for 1, 2, 3 and 4 workers (odd nz, axis offset)', async () => {
  const geom = { angles: parseTiltAngles('-60:60:15'), nz: 7, ny: 13, nx: 11, nCols: 17, axisOffset: 0.75 };
  const vol = randomArray(7 * 13 * 11, 3);
  const ts = randomArray(geom.angles.length * 7 * 17, 5);
  let ref: { f: Buffer; b: Buffer } | null = null;
  for (const workers of [1, 2, 3, 4]) {
    const p = new Projector(geom, { workers });
    assert.is(p.workers, workers);
    try {
      const f = bytes(await p.forward(vol)), b = bytes(await p.back(ts));
      if (!ref) { ref = { f, b }; assert.ok(f.some((v) => v !== 0)); continue; }
      assert.ok(f.equals(ref.f), `forward with ${workers} workers`);
      assert.ok(b.equals(ref.b), `adjoint with ${workers} workers`);
    } finally { await p.close(); }
  }
});

test.run();
