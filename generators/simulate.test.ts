import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simulateSample, validateSimulationConfig } from './simulate.ts';
import { Projector, makeGeometry, parseTiltAngles } from './projection/index.ts';

const cfg = validateSimulationConfig({ phantom: { size: 32 }, geometry: { angles: '-60:60:30' }, acquisition: { frames: 3 } });

test('same (seed, index) -> byte-identical sample, with 1 or 2 projector workers; frames sum to noisy', async () => {
  const a = await simulateSample(cfg, 5, 2);
  const p = new Projector(makeGeometry({ angles: parseTiltAngles('-60:60:30'), nz: 32, ny: 32, nx: 32 }), { workers: 2 });
  const b = await simulateSample(cfg, 5, 2, { projector: p });
  await p.close();
  assert.equal(Buffer.from(a.clean.buffer).equals(Buffer.from(b.clean.buffer)), true);
  assert.equal(Buffer.from(a.noisy.buffer).equals(Buffer.from(b.noisy.buffer)), true);
  assert.equal(a.channels[0], 'HAADF');
  assert.equal(a.clean.length, a.channels.length * 5 * 32 * 32);
  const img = 32 * 32, F = 3;
  for (const i of [0, 777, a.clean.length - 1 - 300]) {
    const c = Math.floor(i / img), r = i % img;
    let s = 0; for (let f = 0; f < F; f++) s += a.frames![(c * F + f) * img + r];
    assert.equal(s, a.noisy[i]);
  }
  const c = await simulateSample(cfg, 5, 3);
  assert.not.equal(Buffer.from(a.noisy.buffer).equals(Buffer.from(c.noisy.buffer)), true);
  assert.equal(a.params.doseTotal, a.params.dosePerProjection * 5);
});

test('clean counts scale linearly with dose; every tilt carries the same EDX total (mass conservation)', async () => {
  const a = await simulateSample(cfg, 1, 0, { dosePerProjection: 100 });
  const b = await simulateSample(cfg, 1, 0, { dosePerProjection: 250 });
  for (let i = 0; i < a.clean.length; i += 97) assert.ok(Math.abs(b.clean[i] - 2.5 * a.clean[i]) <= 1e-5 * b.clean[i] + 1e-9);
  const img = 32 * 32;
  const tot = (c: number, ang: number) => { let s = 0; for (let k = 0; k < img; k++) s += a.clean[(c * 5 + ang) * img + k]; return s; };
  for (let c = 0; c < a.channels.length; c++) {
    const t0 = tot(c, 0);
    for (let ang = 1; ang < 5; ang++) assert.ok(Math.abs(tot(c, ang) - t0) < 2e-3 * t0 + 1e-9, `channel ${c} angle ${ang}`);
  }
});

test('bad configs give clear errors', () => {
  assert.throws(() => validateSimulationConfig({ geometry: { angles: '' } }), /geometry\.angles/);
  assert.throws(() => validateSimulationConfig({ geometry: { angles: [0], nCols: 4 } }), /smaller than the volume/);
  assert.throws(() => validateSimulationConfig({ acquisition: { dose: NaN } }), /acquisition\.dose/);
});

test.run();
