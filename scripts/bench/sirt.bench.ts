/**
 * SIRT benchmark (issue 7). Prints, for 128^3 and 256^3 volumes with 60 tilts over [-90, 90):
 *  - kernel A/B in one process, interleaved (old, new, old, new, ...; best of `reps`), on 1 and 2
 *    workers: set-up time (system matrix or ray table, weights, workers) and time per SIRT iteration
 *    of the whole volume (eval/recon/sirt/slices.ts), from runs with k and 0 iterations, for the fused
 *    JavaScript ray kernel ('rays', the reference; the old two-pass CSR kernel is gone) and the fused
 *    WebAssembly SIMD ray kernel ('wasm', the default); the old/new ratio per iteration, and the CPU
 *    time / wall time of the 2-worker runs (about 2 when both threads really run);
 *  - the wall time of a full 100-iteration SIRT at 128^3 on 2 workers (target < 20 s);
 *  - scikit-image's iradon_sart (one SART iteration per call, single-threaded) per slice on the
 *    same slice size and angles, scaled to the whole volume, and the speed ratio (target >= 30x at
 *    128^3 on 2 cores); FBP time and TV time per iteration at 128^3. SART updates after every angle and SIRT once per sweep: per iteration both
 *    make one forward and one back projection of every ray.
 * The machine may be shared: absolute times are noisy, the interleaved ratios less so.
 *
 *   npm run bench -- sirt          (BENCH_QUICK=1: 128^3 only, fewer iterations)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sirtFast, type SirtKernel } from '../../eval/recon/sirt/slices.ts';
import { SliceMatrixOperator } from '../../eval/recon/joseph-matrix.ts';
import { nrmseScaled } from '../../eval/metrics/index.ts';
import { fbp } from '../../eval/recon/fbp.ts';
import { tvReconstruct } from '../../eval/recon/tv.ts';

const quick = !!process.env.BENCH_QUICK;
const nAngles = 60;
const angles = Array.from({ length: nAngles }, (_, i) => -90 + (i * 180) / nAngles);

function phantom(N: number): Float32Array {
  const v = new Float32Array(N ** 3), c = N / 2;
  for (let z = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    const r = Math.hypot(x - c, y - c, z - c);
    v[(z * N + y) * N + x] = (r < 0.35 * N ? 1 : 0) + (Math.hypot(x - 0.45 * N, y - 0.55 * N, z - c) < 0.12 * N ? 1 : 0);
  }
  return v;
}

function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  return f().then((r) => [r, (performance.now() - t0) / 1000]);
}

const sizes = quick ? [128] : [128, 256];
const perIter: Record<string, number> = {};
console.log(`SIRT, 60 tilts over [-90, 90), Joseph system matrix, slices over worker_threads; machine shared (timings noisy), ${(await import('node:os')).availableParallelism()} cores`);
for (const N of sizes) {
  const nCols = Math.ceil(N * Math.SQRT2) + 2;
  const vol = phantom(N);
  const [b, tProj] = await time(() => new SliceMatrixOperator(N, N, N, angles, nCols).forward(vol));
  console.log(`\n${N}^3: tilt series ${nAngles} x ${N} x ${nCols} (forward projection, 1 thread, ${tProj.toFixed(1)} s)`);
  const k = quick ? 3 : N === 128 ? 6 : 2, reps = quick ? 2 : 3;
  const runs: [SirtKernel, number][] = [['rays', 1], ['wasm', 1], ['rays', 2], ['wasm', 2]];
  const best = new Map<string, { t0: number; tk: number; cpu: number; nrmse: number }>();
  for (let rep = 0; rep < reps; rep++) for (const [kernel, workers] of runs) {
    const key = `${kernel}|${workers}`;
    const [, t0] = await time(() => sirtFast(b, { nz: N, ny: N, nx: N, nCols, angles, iterations: 0, workers, minConstraint: 0, kernel }));
    const c0 = process.cpuUsage();
    const [x, tk] = await time(() => sirtFast(b, { nz: N, ny: N, nx: N, nCols, angles, iterations: k, workers, minConstraint: 0, kernel }));
    const c = process.cpuUsage(c0), cpu = (c.user + c.system) / 1e6;
    const prev = best.get(key);
    best.set(key, { t0: Math.min(t0, prev?.t0 ?? Infinity), tk: Math.min(tk, prev?.tk ?? Infinity), cpu: prev && prev.tk < tk ? prev.cpu : cpu / tk, nrmse: nrmseScaled(x, vol) });
  }
  const label: Record<SirtKernel, string> = { rays: 'rays (fused one-pass ray table, JS)    ', wasm: 'wasm (fused one-pass ray table, SIMD)  ' };
  console.log(`  kernels A/B, interleaved in this process, best of ${reps} (k = ${k} and 0 iterations):`);
  for (const [kernel, workers] of runs) {
    const r = best.get(`${kernel}|${workers}`)!;
    const it = (r.tk - r.t0) / k;
    perIter[`${N}|${kernel}|${workers}`] = it;
    console.log(`    ${label[kernel]} ${workers} worker${workers > 1 ? 's' : ' '}: set-up ${r.t0.toFixed(2)} s, ${it.toFixed(3)} s per iteration (${k} in ${r.tk.toFixed(2)} s, CPU/wall ${r.cpu.toFixed(2)}; NRMSE after ${k}: ${r.nrmse.toFixed(4)})`);
  }
  for (const workers of [1, 2]) console.log(`  ratio JS (rays) / SIMD (wasm) per iteration, ${workers} worker${workers > 1 ? 's' : ''}: ${(perIter[`${N}|rays|${workers}`] / perIter[`${N}|wasm|${workers}`]).toFixed(2)}x`);
  console.log(`  speed-up 2 vs 1 worker: wasm ${(perIter[`${N}|wasm|1`] / perIter[`${N}|wasm|2`]).toFixed(2)}x, rays ${(perIter[`${N}|rays|1`] / perIter[`${N}|rays|2`]).toFixed(2)}x`);
  if (N === 128) {
    const iters = quick ? 20 : 100;
    const [x, t] = await time(() => sirtFast(b, { nz: N, ny: N, nx: N, nCols, angles, iterations: iters, workers: 2, minConstraint: 0 }));
    console.log(`  full ${iters}-iteration SIRT (wasm kernel, set-up included), 2 workers: ${t.toFixed(2)} s wall (target < 20 s for 100); NRMSE ${nrmseScaled(x, vol).toFixed(4)}`);
  }
  if (N === 128) {
    // FBP and TV run on the generic operator path (here the single-threaded CSR operator).
    const op = new SliceMatrixOperator(N, N, N, angles, nCols);
    const [xf, tf] = await time(() => fbp(op, b, { filter: 'hann' }));
    console.log(`  FBP (Hann) on the CSR operator, 1 thread: ${tf.toFixed(2)} s; NRMSE ${nrmseScaled(xf, vol).toFixed(4)}`);
    const [, tt] = await time(() => tvReconstruct(op, b, { iterations: 2, mu: 0.01, norm: 25 }));
    console.log(`  TV (Chambolle-Pock) on the CSR operator, 1 thread: ${(tt / 2).toFixed(2)} s per iteration`);
  }
  const py = '/usr/bin/python3';
  const script = fileURLToPath(new URL('./sart_skimage.py', import.meta.url));
  const slices = N === 128 ? 4 : 2;
  const r = spawnSync(py, [script, String(N), String(nAngles), String(slices)], { encoding: 'utf8' });
  if (r.status !== 0) { console.log(`  scikit-image reference failed (${py}): ${r.stderr.trim().split('\n').pop()}`); continue; }
  const sk = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const skVol = sk.perSliceIterationSec * N;
  console.log(`  scikit-image iradon_sart: ${sk.perSliceIterationSec.toFixed(3)} s per slice-iteration (median of ${slices}) -> ${skVol.toFixed(1)} s per volume iteration (1 thread)`);
  for (const workers of [1, 2]) console.log(`  ratio scikit-image / nanodose per iteration, ${workers} worker${workers > 1 ? 's' : ''}: new (wasm) ${(skVol / perIter[`${N}|wasm|${workers}`]).toFixed(1)}x${N === 128 && workers === 2 ? ' (target >= 30x)' : ''}, JS (rays) ${(skVol / perIter[`${N}|rays|${workers}`]).toFixed(1)}x`);
}
