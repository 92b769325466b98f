/**
 * haadf-quant (quantitative HAADF tomography, eval/quant; Skorikov et al., ACS Nano 13, 13421 (2019),
 * doi:10.1021/acsnano.9b05593) against raw EDX SIRT at equal electron dose: NRMSE and PSNR (after the
 * harness's LS scale) per element, for an Au/Ag and an Au/Pt core-shell sphere (generators' phantoms and
 * projector, physical HAADF), N^3 (default 40), tilts -70:70:5, SIRT 50 iterations for both; the HAADF and
 * EDX draws at dose D per projection are Poisson of the clean expected counts scaled from the sample's dose.
 * haadf-quant with k from the pure regions ('pure', the data alone) and with the physical k; the seconds
 * of one haadf-quant (linearise, SIRT, segment, solve) beside one EDX SIRT in the same process. Loaded machine.
 *
 *   npm run bench -- quant          (BENCH_N, BENCH_DOSES=10,100,1000)
 */
import { stream } from '../../core/random.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { makeOperator, parseReconSpec, reconstruct, type ChannelReconSpec } from '../../eval/recon/reconstruct.ts';
import { scaledScores } from '../../eval/metrics/index.ts';
import { haadfQuant, haadfAcquisition } from '../../eval/harness/haadf-quant.ts';

const N = Number(process.env.BENCH_N ?? 40);
const doses = (process.env.BENCH_DOSES ?? '10,100,1000').split(',').map(Number);
const recon = parseReconSpec('sirt:50') as ChannelReconSpec;
console.log(`haadf-quant vs raw EDX SIRT, ${N}^3 core-shell sphere, tilts -70:70:5, sirt:50 (loaded machine, ${(await import('node:os')).availableParallelism()} cores)`);
console.log('pair   dose(e/A^2/proj)  element  EDX-raw NRMSE  PSNR   | haadf-quant pure NRMSE  PSNR | physical NRMSE  PSNR | warnings');
let tQuant = 0, tSirt = 0, nQ = 0, nS = 0;
for (const pair of [['Au', 'Ag'], ['Au', 'Pt']]) {
  const config = { simulation: validateSimulationConfig({ phantom: { size: N, elements: pair, classWeights: { sphere: 1 }, coreClassWeights: { sphere: 1 }, composition: { 'core-shell': 1 }, coreScale: [0.6, 0.6], diffuseProbability: 0, sizeFraction: [0.75, 0.75] }, geometry: { angles: '-70:70:5' } }) };
  const s = await simulateSample(config.simulation, 5, 0);
  const acquisition = haadfAcquisition(config);
  const op = await makeOperator({ angles: s.angles, nz: N, ny: N, nx: N, nCols: N }, 1);
  const plane = s.angles.length * N * N, d0 = s.params.dosePerProjection;
  const draw = (ch: number, d: number) => { const rng = stream(11, ch, 'bench-noise', String(d)), out = new Float32Array(plane); for (let i = 0; i < plane; i++) out[i] = rng.poisson(s.clean[ch * plane + i] * d / d0); return out; };
  try {
    for (const d of doses) {
      const haadf = draw(0, d);
      let t0 = performance.now();
      const pure = await haadfQuant({ haadf, dosePerProjection: d, elements: s.phantom.elements, truth: s.volume, op, recon, acquisition });
      tQuant += performance.now() - t0; nQ++;
      const phys = await haadfQuant({ haadf, dosePerProjection: d, elements: s.phantom.elements, truth: s.volume, op, recon, acquisition, calibration: 'physical' });
      for (let e = 0; e < 2; e++) {
        const el = s.phantom.elements[e].symbol;
        t0 = performance.now();
        const x = await reconstruct(op, draw(e + 1, d), recon);
        tSirt += performance.now() - t0; nS++;
        const edx = scaledScores(x, s.volume[e]);
        const get = (o: typeof pure, m: string) => o.rows.find((r) => r.element === el && r.metric === m)!.value;
        console.log(`${pair.join('/').padEnd(6)} ${String(d).padStart(8)}          ${el.padEnd(7)}  ${edx.nrmse.toFixed(3).padStart(8)}  ${edx.psnr.toFixed(1).padStart(6)}   | ${get(pure, 'nrmse').toFixed(3).padStart(12)}  ${get(pure, 'psnr').toFixed(1).padStart(6)} | ${get(phys, 'nrmse').toFixed(3).padStart(8)}  ${get(phys, 'psnr').toFixed(1).padStart(6)} | ${e === 0 ? (pure.warnings.length ? pure.warnings.map((w) => w.slice(0, 60) + '...').join(' / ') : '-') : ''}`);
      }
    }
  } finally { await op.close?.(); }
}
console.log(`seconds: one haadf-quant ${(tQuant / nQ / 1000).toFixed(2)} s, one EDX SIRT ${(tSirt / nS / 1000).toFixed(2)} s, ratio ${((tQuant / nQ) / (tSirt / nS)).toFixed(2)}`);
