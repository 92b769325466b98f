/** The simulator as the dataset source: stored arrays equal an independent simulateSample call. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSample } from '../generators/simulate.ts';
import { validateDatasetConfig } from './config.ts';
import { generateDataset } from './generate.ts';
import { openDataset } from './reader.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-sim-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const raw = { samplesPerShard: 2, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:30' } } };

test('generate with the simulator: arrays equal simulateSample(cfg, seed, i); counts consistent with the expected counts', async () => {
  const out = join(root, 'ds');
  const m = await generateDataset({ out, count: 3, seed: 21, workers: 1, quiet: true, config: raw });
  assert.is(m.finishedShards, 2);
  const cfg = validateDatasetConfig(raw);
  const r = await openDataset(out);
  assert.equal(r.channels, ['HAADF', ...cfg.simulation.phantom.elements]);
  assert.is(r.angles.length, 5);
  // the dims carry the signal model's pixel: acquisition.pixelSizeAngstrom (default 2 A = 0.2 nm)
  assert.ok(Math.abs(r.shape.pixelSizeNm - cfg.simulation.acquisition.pixelSizeAngstrom / 10) < 1e-6, `pixel ${r.shape.pixelSizeNm} nm`);
  for (const i of [0, 2]) {
    const s = await r.readSample(i, ['phantom', 'clean', 'noisy']);
    const ref = await simulateSample(cfg.simulation, 21, i);
    assert.ok(Buffer.from(s.clean!.buffer).equals(Buffer.from(ref.clean.buffer, ref.clean.byteOffset, ref.clean.byteLength)), `clean of sample ${i}`);
    assert.equal(Array.from(s.noisy!.subarray(0, 2000)), Array.from(ref.noisy.subarray(0, 2000)));
    const N = 32;
    ref.volume.forEach((v, k) => assert.equal(Array.from(s.phantom!.subarray(k * N ** 3, (k + 1) * N ** 3)), Array.from(v)));
    assert.is(s.dosePerProjection, ref.params.dosePerProjection);
    assert.is(s.params.shapeClass, ref.params.shapeClass);
    // Poisson: total counts within 5 sigma of the total expected counts
    let lam = 0, n = 0;
    for (const x of s.clean!) lam += x;
    for (const x of s.noisy!) n += x;
    assert.ok(Math.abs(n - lam) < 5 * Math.sqrt(lam) + 5, `counts ${n} vs expected ${lam}`);
  }
  await r.close();
});

test.run();
