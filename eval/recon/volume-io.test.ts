/**
 * readTiltSeries (the reader behind reconstruct and generate --like) normalises tilt angles written in
 * any convention: the same series stored as -90..90, as 0..180 (projections below 0 written at
 * theta + 180, mirrored, as a 0..180 acquisition records them) and in radians reads back as the
 * identical angles and projections, so every command gives the same volume from each.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMrc, writeMrc } from '../../datasets/formats/mrc/mrc.ts';
import { readTiltSeries } from './volume-io.ts';
import { sirtFast } from './sirt/slices.ts';

const FX = new URL('../../datasets/formats/testing/fixtures/', import.meta.url).pathname;

test('-90..90, 0..180 (mirrored) and radians .tlt files give the same angles, projections and volume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volume-io-'));
  try {
    const m = readMrc(join(FX, 'tilt_Au.mrc'));
    const ref = await readTiltSeries(join(FX, 'tilt_Au.mrc'), { tlt: join(FX, 'tilt_Au.tlt') });
    const [A, R, C] = m.shape;
    const mirrored = Float32Array.from(m.data);
    const conv = Array.from(ref.angles, (t) => (t < 0 ? t + 180 : t));
    for (let a = 0; a < A; a++) if (ref.angles[a] < 0) for (let r = 0; r < R; r++) mirrored.subarray((a * R + r) * C, (a * R + r + 1) * C).reverse();
    writeMrc(join(dir, 's.mrc'), mirrored, [A, R, C], { voxelSizeAngstrom: m.voxelSizeAngstrom, kind: 'stack' });
    writeFileSync(join(dir, 'deg.tlt'), conv.join('\n') + '\n');
    writeFileSync(join(dir, 'rad.tlt'), conv.map((t) => ((t * Math.PI) / 180).toPrecision(17)).join('\n') + '\n');
    const rec = (t: Awaited<ReturnType<typeof readTiltSeries>>) => sirtFast(t.series[0], { nz: R, ny: C, nx: C, nCols: C, angles: t.angles, iterations: 10, minConstraint: 0, workers: 1 });
    const v0 = await rec(ref);
    for (const [tlt, radians] of [['deg.tlt', false], ['rad.tlt', true]] as const) {
      const t = await readTiltSeries(join(dir, 's.mrc'), { tlt: join(dir, tlt), radians });
      Array.from(t.angles).forEach((x, a) => assert.ok(Math.abs(x - ref.angles[a]) < 1e-9, `${tlt}: angle ${a} ${x} vs ${ref.angles[a]}`));
      assert.equal(Array.from(t.series[0]), Array.from(ref.series[0]), `${tlt}: projections`);
      const v = await rec(t);
      let d = 0;
      for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i] - v0[i]));
      assert.ok(d < 1e-5, `${tlt}: volumes differ by ${d}`);
    }
    // The mirrored file read with the plain -90..90 angles differs: the mirror is what makes the conventions agree.
    const wrong = await readTiltSeries(join(dir, 's.mrc'), { tlt: join(FX, 'tilt_Au.tlt') });
    assert.not.equal(Array.from(wrong.series[0]), Array.from(ref.series[0]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
