/**
 * Joint reconstruction benchmark (issue 13): seconds per iteration of fused, bimodal and TNV at
 * N^3 (default 128) with 61 tilts over [-90, 90] and 2 elements, on the Joseph Projector with 1
 * and 2 workers, beside SIRT (slice-parallel wasm kernel) of both elements, all in this process;
 * per iteration from runs with k and 1 iterations (set-up and the last objective's projection
 * cancel), each the fastest of BENCH_R runs (default 2: on a shared machine the minimum is the
 * least disturbed). Target: within 3x of SIRT per iteration. Machine shared: figures are "loaded".
 * The joint methods run on the Joseph ray table (eval/recon/sirt/ray-operator.ts) as reconstruct does.
 *
 *   npm run bench -- recon          (BENCH_N=64 for a smaller volume, BENCH_K iterations, default 3, BENCH_R repeats)
 */
import { makeOperator, reconstruct, parseReconSpec, type ChannelReconSpec } from '../../eval/recon/reconstruct.ts';
import { parseJointSpec } from '../../eval/recon/joint/index.ts';

const N = Number(process.env.BENCH_N ?? 128), k = Number(process.env.BENCH_K ?? 3), R = Number(process.env.BENCH_R ?? 2);
const angles = Float64Array.from({ length: 61 }, (_, i) => -90 + i * 3);
const nCols = Math.ceil(N * Math.SQRT2) + 2;
const geom = { angles, nz: N, ny: N, nx: N, nCols };
const core = new Float32Array(N ** 3), shell = new Float32Array(N ** 3), c = (N - 1) / 2;
for (let z = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
  const r = Math.hypot(x - c, y - c, z - c), i = (z * N + y) * N + x;
  if (r < 0.18 * N) core[i] = 1; else if (r < 0.33 * N) shell[i] = 1;
}
const t = async <T>(f: () => Promise<T>) => { let best = Infinity; for (let r = 0; r < R; r++) { const t0 = performance.now(); await f(); best = Math.min(best, (performance.now() - t0) / 1000); } return best; };
console.log(`joint reconstruction, ${N}^3, 61 tilts, 2 elements (loaded machine, ${(await import('node:os')).availableParallelism()} cores); per iteration from ${k} and 1 iterations, fastest of ${R} runs`);
for (const workers of [1, 2]) {
  const op = await makeOperator(geom, workers);
  const P = [await op.forward(core), await op.forward(shell)];
  const r = [0.19, 0.1];
  const haadf = P[0].map((v, i) => r[0] * v + r[1] * P[1][i]);
  const data = { edx: P.map((p) => p.map((v) => Math.round(5 * v))), elements: ['Au', 'Ag'], haadf, haadfWeights: r, incident: 2400 };
  const sirtPer = ((await t(async () => { for (const b of data.edx) await reconstruct(op, b, parseReconSpec(`sirt:${k}`) as ChannelReconSpec, { workers }); })) - (await t(async () => { for (const b of data.edx) await reconstruct(op, b, parseReconSpec('sirt:1') as ChannelReconSpec, { workers }); }))) / (k - 1);
  console.log(`  ${workers} worker${workers > 1 ? 's' : ' '}: SIRT of both elements ${sirtPer.toFixed(3)} s per iteration`);
  for (const m of ['fused', 'bimodal', 'tnv']) {
    const run = (it: number) => t(() => reconstruct(op, data, { ...parseJointSpec(`${m}:${it}`), warmStart: 0 }));
    const per = ((await run(k)) - (await run(1))) / (k - 1);
    console.log(`  ${workers} worker${workers > 1 ? 's' : ' '}: ${m.padEnd(7)} ${per.toFixed(3)} s per iteration, ${(per / sirtPer).toFixed(2)}x SIRT (target <= 3x)`);
  }
  await op.close?.();
}
