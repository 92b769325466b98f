/**
 * Counts mode (acquisition.mode 'counts', issue 20): the EDX counts are set per particle pixel and
 * carry no physical dose, so generate and inspect report counts per pixel, not a dose; training's
 * --dose is relative to the stored (HAADF) dose, as its help says.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { makePair } from '../../training/schemes.ts';
import { stream } from '../../core/random.ts';
import { runCli } from '../testing/cli.ts';

const run = (...args: string[]) => runCli(args);
const root = mkdtempSync(join(tmpdir(), 'nanodose-counts-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const sim = (acquisition: Record<string, unknown>) => ({ phantom: { size: 32 }, geometry: { angles: '-60:60:60' }, acquisition });

test('counts mode: generate and inspect give the EDX counts per particle pixel and no dose line; dose mode keeps its dose', () => {
  for (const [name, acq] of [['counts', { mode: 'counts', countsInParticle: 0.3, dose: 450 }], ['dose', { dose: 450 }]] as const) {
    const cfg = join(root, `${name}.json`), out = join(root, name);
    writeFileSync(cfg, JSON.stringify({ simulation: sim(acq) }));
    const g = run('generate', '--config', cfg, '--count', '2', '--out', out, '--workers', '1');
    assert.is(g.status, 0, g.stderr);
    const i = run('inspect', out);
    assert.is(i.status, 0, i.stderr);
    if (name === 'counts') {
      assert.match(g.stdout, /counts mode: EDX fixed at 0\.3 per pixel; HAADF from 450\.0 e\/A\^2/);
      assert.match(i.stdout, /counts mode: EDX 0\.3000 expected counts per pixel inside the particle per element channel \(no physical dose\); HAADF from 450\.0 e\/A\^2 per projection; train --dose lo:hi draws fresh noise at lo\/450\.0 \.\. hi\/450\.0 x the stored expected counts/);
      assert.not.match(i.stdout, /dose per projection:/);
    } else {
      assert.match(g.stdout, /at 450\.0 e\/A\^2 per projection/);
      assert.match(i.stdout, /dose per projection: 450\.0 \.\. 450\.0 e\/A\^2/);
      assert.not.match(i.stdout, /counts mode/);
    }
  }
});

test("counts mode: training's fresh-noise dose d means the stored expected counts x d / acquisition.dose (the relation train --help states)", async () => {
  const s = await simulateSample(validateSimulationConfig(sim({ mode: 'counts', countsInParticle: 0.3, dose: 450 })), 1, 0);
  assert.is(s.params.dosePerProjection, 450);
  const n = s.angles.length, h = 32, w = 32, el = s.clean.slice(n * h * w, n * h * w + h * w);
  const p = { h, w, clean: el, dose: s.params.dosePerProjection as number };
  const sp = { scheme: 'supervised' as const, noise: 'fresh' as const, doseRange: [1, 1] as [number, number], thinning: [0.5, 0.5] as [number, number], frames: 1, floor: 1e-6 };
  for (const d of [112.5, 900]) {
    const pair = makePair(p, sp, stream(3, 'pair', d), { row: 0, col: 0, h, w }, { dose: d });
    // the supervised target is the expected counts of the input, divided by the scale s
    for (let i = 0; i < h * w; i++) assert.ok(Math.abs(pair.target[i] * pair.s - (el[i] * d) / 450) <= 1e-5 * (1 + el[i]), `pixel ${i} at dose ${d}`);
  }
  const help = run('train', '--help');
  assert.match(help.stdout.replace(/\s+/g, ' '), /In counts mode \(acquisition.mode counts\) the EDX counts follow no dose and D is the HAADF's acquisition.dose/);
});

test.run();
