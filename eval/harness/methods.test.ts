/**
 * The harness's joint methods (eval/harness/methods.ts) on the Joseph Projector: they run as `nanodose
 * reconstruct` runs them (reconstruct on the Projector, whose joint engine projects on the ray table), so the
 * volumes are the same bits, and the Projector's own matrix-free projections are never called. (Handed to
 * reconstruct through serialOperator, the Projector was not recognised: the demo's fused blocks ran on the
 * matrix-free projector at ~3x the time.) Any other operator still goes through serialOperator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeOperator, parseReconSpec, reconstruct, type ChannelReconSpec } from '../recon/reconstruct.ts';
import { defaultRegularisation, parseJointSpec } from '../recon/joint/index.ts';
import { haadfLinearise } from '../../generators/signal/index.ts';
import { stream } from '../../core/random.ts';
import { VOLUME_METHODS, parseVolumeMethod, type Acquisition } from './methods.ts';
import type { ProjectionOperator } from '../recon/operator.ts';

const N = 16;
const angles = Float64Array.from({ length: 9 }, (_, i) => -60 + i * 15);
const geom = { angles, nz: N, ny: N, nx: N, nCols: N };
const recon = parseReconSpec('sirt:10') as ChannelReconSpec;

async function acquisition(op: ProjectionOperator): Promise<Acquisition> {
  const core = new Float32Array(N ** 3), shell = new Float32Array(N ** 3), c = (N - 1) / 2;
  for (let z = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    const r = Math.hypot(x - c, y - c, z - c), i = (z * N + y) * N + x;
    if (r < 0.2 * N) core[i] = 1; else if (r < 0.38 * N) shell[i] = 1;
  }
  const P = [await op.forward(core), await op.forward(shell)];
  const rng = stream(3, 'methods-test');
  const mu = [0.02, 0.01], a = 2, incident = 300 * a * a;
  // scattered fraction 1 - exp(-sum mu_e a P x_e) of the incident electrons, Poisson; EDX counts Poisson(0.5 P x_e)
  const haadf = Float32Array.from(P[0], (v, i) => rng.poisson(incident * (1 - Math.exp(-(mu[0] * a * v + mu[1] * a * P[1][i])))));
  const edx = P.map((p) => Float32Array.from(p, (v) => rng.poisson(0.5 * v)));
  return { haadf, edx, elements: [{ symbol: 'Au', Z: 79 }, { symbol: 'Ag', Z: 47 }], dose: 300, incident, pixelSizeAngstrom: a, haadfMu: mu, acquisition: {} as Acquisition['acquisition'] };
}

test('fused on the Joseph Projector: the same bits as reconstruct on it, and the Projector itself projects nothing', async () => {
  const op = await makeOperator(geom, 1);
  try {
    const acq = await acquisition(op);
    let calls = 0;
    const f = op.forward.bind(op), b = op.back.bind(op);
    op.forward = (x, out) => { calls++; return f(x, out); };
    op.back = (y, out) => { calls++; return b(y, out); };
    const spec = parseVolumeMethod('fused:3')!;
    const got = await VOLUME_METHODS.fused.run(op, acq, spec, undefined, { workers: 1, recon });
    assert.is(calls, 0, 'the harness called the matrix-free projector');
    const haadf = haadfLinearise(acq.haadf, acq.incident);
    const direct = await reconstruct(op, { edx: acq.edx, elements: ['Au', 'Ag'], haadf, haadfWeights: acq.haadfMu.map((m) => m * acq.pixelSizeAngstrom), incident: acq.incident }, parseJointSpec(`fused:3:${defaultRegularisation(acq.edx, haadf, 'fused')}`));
    for (let e = 0; e < 2; e++) {
      assert.ok(Buffer.from(got.volumes[e].buffer, got.volumes[e].byteOffset, got.volumes[e].byteLength).equals(Buffer.from(direct.volumes[e].buffer, direct.volumes[e].byteOffset, direct.volumes[e].byteLength)), `element ${e} differs from reconstruct's`);
      assert.ok(got.volumes[e].some((v) => v > 0), `element ${e} is empty`);
    }
  } finally { await op.close?.(); }
});

test('fused on another operator (not the Joseph Projector): runs through serialOperator on that operator', async () => {
  const inner = await makeOperator(geom, 1);
  try {
    const acq = await acquisition(inner);
    let calls = 0;
    const other: ProjectionOperator = {
      geom: inner.geom, volumeSize: inner.volumeSize, tiltSeriesSize: inner.tiltSeriesSize,
      forward: (x, out) => { calls++; return inner.forward(x, out); },
      back: (y, out) => { calls++; return inner.back(y, out); },
      rowSums: () => inner.rowSums(), colSums: () => inner.colSums(),
    };
    const got = await VOLUME_METHODS.fused.run(other, acq, parseVolumeMethod('fused:2')!, undefined, { workers: 1, recon });
    assert.ok(calls > 0, 'the operator was used');
    assert.ok(got.volumes.every((v) => v.length === N ** 3 && v.every(Number.isFinite)));
  } finally { await inner.close?.(); }
});

test.run();
