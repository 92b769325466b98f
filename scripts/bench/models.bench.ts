/**
 * Benchmark of the denoising networks on the WebAssembly backend (issue 5).
 *
 * Default U-Net (4 levels, 32 base filters, 2 convs of 3x3 per level, transposed-conv up,
 * 1.925 M parameters), batch 16, 128x128, 1 channel, Adam + mean squared error:
 *   - training and inference images/s: one single-threaded wasm instance, 2 wasm threads (reported
 *     as unavailable when tfjs cannot start them in Node), 2 data-parallel workers (models/parallel);
 *   - share of time per kernel in one training step (tf.profile, wall time per kernel);
 *   - GFLOP/s of the forward convolutions and of the two gradient convolutions;
 *   - nanodose's wasm kernels against the backend's own at U-Net shapes;
 *   - PyTorch CPU reference (scripts/bench/torch_unet.py, same network) with 1 and 2 threads when
 *     /usr/bin/python3 has torch; ratios against it.
 * Targets (issue 5): >= 0.6x PyTorch training throughput on 2 cores; >= 30 GFLOP/s forward convs per core.
 *
 *   npm run bench -- models             (about 3-4 minutes on 2 cores)
 *   npm run bench -- models --quick     (smaller: batch 4, 64x64, no PyTorch)
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { initBackend } from '../../models/backend.ts';
import { buildModel, receptiveField } from '../../models/networks/build.ts';
import { validateModelSpec } from '../../models/networks/spec.ts';
import { checkMemory, estimateMemory, MemoryError } from '../../models/memory.ts';
import { DataParallel } from '../../models/parallel/engine.ts';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../../models/kernels/register.ts';
import { setFilterGradMethod, setTransposedMethod, type FilterGradMethod, type TransposedMethod } from '../../models/kernels/conv.ts';
import { DEFAULT_FILTER_GRAD_CHUNK_CAP, setFilterGradChunkCap } from '../../models/kernels/filter_grad.ts';

const quick = process.argv.includes('--quick');
const B = quick ? 4 : 16;
const S = quick ? 64 : 128;
const ITERS = quick ? 1 : 3;

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
// Seconds per call: best of `iters` after one warm-up call (the best is the least disturbed by the
// other processes on a shared machine; PyTorch is timed the same way).
function timeIt(fn: () => void, iters: number): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best / 1000;
}
async function timeAsync(fn: () => Promise<void>, iters: number): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best / 1000;
}

const be = await initBackend({ backend: 'wasm', threads: 1 });
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; timings on a shared machine are noisy`);
const spec = validateModelSpec({});
const model = buildModel(spec);
console.log(`network: U-Net depth ${spec.depth}, ${spec.filters} base filters, ${spec.convsPerLevel} convs/level, ${spec.up} up, ${model.countParams()} parameters, receptive field ${receptiveField(spec)} px; batch ${B}, ${S}x${S}`);

// ---------- kernels at U-Net shapes: nanodose vs the backend's own ----------
console.log('\nkernels (level-0 shapes, 1 thread):');
function convFlops(b: number, oh: number, ow: number, kh: number, kw: number, ci: number, co: number): number {
  return 2 * b * oh * ow * kh * kw * ci * co;
}
{
  const x = tf.randomNormal([B, S, S, 32]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D;
  const dy = tf.randomNormal([B, S, S, 32]) as tf.Tensor4D;
  const f = convFlops(B, S, S, 3, 3, 32, 32);
  const run = (g: () => tf.Tensor) => () => {
    const t = g();
    t.dataSync();
    t.dispose();
  };
  const tFwd = timeIt(run(() => tf.conv2d(x, w, 1, 'same')), ITERS + 1);
  const tBF = timeIt(run(() => tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same'), dy)))(w)), ITERS);
  const tBI = timeIt(run(() => tf.conv2dTranspose(dy, w, [B, S, S, 32], 1, 'same')), ITERS + 1);
  const wt = tf.randomNormal([2, 2, 32, 64]) as tf.Tensor4D;
  const dyt = tf.randomNormal([B, S / 2, S / 2, 64]) as tf.Tensor4D;
  const ft = convFlops(B, S / 2, S / 2, 2, 2, 32, 64);
  const tT = timeIt(run(() => tf.conv2dTranspose(dyt, wt, [B, S, S, 32], 2, 'same')), ITERS + 1);
  const xs = tf.randomNormal([B, S, S, 64]) as tf.Tensor4D;
  const tSplit = timeIt(run(() => tf.stack(tf.split(xs, 2, 3))), ITERS + 1);
  unregisterWasmTrainingKernels();
  const tBIn = timeIt(run(() => tf.conv2dTranspose(dy, w, [B, S, S, 32], 1, 'same')), 1);
  const tTn = timeIt(run(() => tf.conv2dTranspose(dyt, wt, [B, S, S, 32], 2, 'same')), 1);
  const tSplitN = timeIt(run(() => tf.stack(tf.split(xs, 2, 3))), 1);
  let tBFn = NaN;
  try {
    tBFn = timeIt(run(() => tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same'), dy)))(w)), 1);
  } catch {
    /* missing on the stock backend */
  }
  registerWasmTrainingKernels();
  const fwdOnly = f / tFwd / 1e9;
  console.log(`  Conv2D forward 3x3 32->32              ${fmt(tFwd * 1000, 0)} ms  ${fmt(fwdOnly, 1)} GFLOP/s`);
  console.log(`  Conv2DBackpropFilter 3x3 (+fwd conv)   ${fmt(tBF * 1000, 0)} ms  ${fmt(f / (tBF - tFwd) / 1e9, 1)} GFLOP/s (stock wasm: ${Number.isNaN(tBFn) ? 'kernel missing' : `${fmt(tBFn * 1000, 0)} ms`})`);
  console.log(`  Conv2DBackpropInput 3x3 stride 1       ${fmt(tBI * 1000, 0)} ms  ${fmt(f / tBI / 1e9, 1)} GFLOP/s (stock wasm ${fmt(f / tBIn / 1e9, 1)} GFLOP/s, ${fmt(tBIn / tBI, 1)}x)`);
  console.log(`  transposed conv 2x2 stride 2 64->32    ${fmt(tT * 1000, 0)} ms  ${fmt(ft / tT / 1e9, 1)} GFLOP/s (stock wasm ${fmt(ft / tTn / 1e9, 1)} GFLOP/s, ${fmt(tTn / tT, 1)}x)`);
  console.log(`  split 64 channels in 2 (+stack)        ${fmt(tSplit * 1000, 0)} ms (stock wasm ${fmt(tSplitN * 1000, 0)} ms, ${fmt(tSplitN / tSplit, 1)}x)`);
  tf.dispose([x, w, dy, wt, dyt, xs]);
}

// ---------- transposed conv 2x2 stride 2 (Conv2DBackpropInput, kernel = stride): old vs new, interleaved ----------
// old: 1x1 XNNPACK conv to 4*Ci channels + depth-to-space (runs of Ci floats); new: one XNNPACK product
// per kernel row with dy as A (zero-copy view), written out by whole output rows (transposed_conv.ts).
// Also its input gradient (the stride-2 2x2 Conv2D tfjs calls, XNNPACK, unchanged) for reference.
console.log('\ntransposed conv 2x2/2 (U-Net up), old (1x1 conv + depth-to-space) vs new (product per kernel row), interleaved A/B:');
{
  const ups: [number, number, number][] = [[S / 2, 64, 32], [S / 4, 128, 64], [S / 8, 256, 128]];
  for (const [h, cin, cout] of ups) {
    const dyu = tf.randomNormal([B, h, h, cin]) as tf.Tensor4D;
    const wu = tf.randomNormal([2, 2, cout, cin]) as tf.Tensor4D;
    const xu = tf.randomNormal([B, 2 * h, 2 * h, cout]) as tf.Tensor4D;
    const fl = convFlops(B, h, h, 2, 2, cout, cin);
    const best: Record<TransposedMethod | 'grad', number> = { conv: Infinity, gemm: Infinity, grad: Infinity };
    for (let it = 0; it < ITERS + 3; it++) {
      for (const m of ['conv', 'gemm', 'grad'] as const) {
        if (m !== 'grad') setTransposedMethod(m);
        const t0 = performance.now();
        const o =
          m === 'grad'
            ? (tf.engine().runKernel('Conv2D', { x: xu, filter: wu }, { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] }) as tf.Tensor)
            : (tf.engine().runKernel('Conv2DBackpropInput', { dy: dyu, filter: wu }, { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', inputShape: [B, 2 * h, 2 * h, cout] }) as tf.Tensor);
        o.dataSync();
        o.dispose();
        if (it > 0) best[m] = Math.min(best[m], performance.now() - t0);
      }
    }
    setTransposedMethod('gemm');
    const g = (ms: number) => fmt(fl / ms / 1e6, 1).padStart(5);
    console.log(`  ${`${h}x${h} ${cin}->${cout}`.padEnd(18)} old ${fmt(best.conv, 0).padStart(4)} ms ${g(best.conv)} GFLOP/s   new ${fmt(best.gemm, 0).padStart(4)} ms ${g(best.gemm)} GFLOP/s   ${fmt(best.conv / best.gemm)}x   | input gradient (Conv2D 2x2/2) ${fmt(best.grad, 0).padStart(4)} ms ${g(best.grad)} GFLOP/s`);
    tf.dispose([dyu, wu, xu]);
  }
}

// ---------- Conv2DBackpropFilter: swapped conv (old) vs chunked matrix products (new), interleaved ----------
// Every U-Net filter-gradient shape at batch B; each variant timed alternately in this process, best of
// ITERS + 1 (the machine is shared, so ratios from interleaved runs are the figures to trust).
console.log(`\nConv2DBackpropFilter, swapped conv vs chunked products with the previous chunk cap (16384) vs the new one (${DEFAULT_FILTER_GRAD_CHUNK_CAP}), U-Net shapes, interleaved A/B/C:`);
{
  const shapes: [number[], number[], number, string][] = [
    [[B, S, S, 1], [3, 3, 1, 32], 1, 'first conv 1->32'],
    [[B, S, S, 32], [3, 3, 32, 32], 1, 'level 0 32->32'],
    [[B, S, S, 64], [3, 3, 64, 32], 1, 'level 0 concat 64->32'],
    [[B, S / 2, S / 2, 64], [3, 3, 64, 64], 1, 'level 1 64->64'],
    [[B, S / 4, S / 4, 128], [3, 3, 128, 128], 1, 'level 2 128->128'],
    [[B, S / 8, S / 8, 256], [3, 3, 256, 256], 1, 'level 3 256->256'],
    [[B, S, S, 32], [2, 2, 32, 64], 2, 'up 2x2/2 64->32 (filter)'],
    [[B, S, S, 32], [1, 1, 32, 1], 1, 'output 1x1 32->1'],
  ];
  type V = 'swapped' | 'gemm16384' | 'gemm';
  const variants: Record<V, () => void> = {
    swapped: () => setFilterGradMethod('swapped'),
    gemm16384: () => {
      setFilterGradMethod('gemm');
      setFilterGradChunkCap(16384);
    },
    gemm: () => {
      setFilterGradMethod('gemm');
      setFilterGradChunkCap(DEFAULT_FILTER_GRAD_CHUNK_CAP);
    },
  };
  for (const [xs, fs, st, label] of shapes) {
    const xx = tf.randomNormal(xs);
    const dyy = tf.randomNormal([xs[0], xs[1] / st, xs[2] / st, fs[3]]);
    const fl = convFlops(xs[0], xs[1] / st, xs[2] / st, fs[0], fs[1], fs[2], fs[3]);
    const best: Record<V, number> = { swapped: Infinity, gemm16384: Infinity, gemm: Infinity };
    for (let it = 0; it < ITERS + 2; it++) {
      for (const m of Object.keys(variants) as V[]) {
        variants[m]();
        const t0 = performance.now();
        const o = tf.engine().runKernel('Conv2DBackpropFilter', { x: xx, dy: dyy }, { strides: [st, st], pad: 'same', dataFormat: 'NHWC', filterShape: fs }) as tf.Tensor;
        o.dataSync();
        o.dispose();
        if (it > 0) best[m] = Math.min(best[m], performance.now() - t0);
      }
    }
    variants.gemm();
    const g = (ms: number) => fmt(fl / ms / 1e6, 1).padStart(5);
    console.log(
      `  ${label.padEnd(26)} swapped ${fmt(best.swapped, 0).padStart(4)} ms ${g(best.swapped)}   cap 16384 ${fmt(best.gemm16384, 0).padStart(4)} ms ${g(best.gemm16384)}   new ${fmt(best.gemm, 0).padStart(4)} ms ${g(best.gemm)} GFLOP/s   new/16384 ${fmt(best.gemm16384 / best.gemm)}x, new/swapped ${fmt(best.swapped / best.gemm)}x`,
    );
    tf.dispose([xx, dyy]);
  }
}

// ---------- whole network, one instance ----------
const x = tf.randomNormal([B, S, S, 1]) as tf.Tensor4D;
const y = tf.randomNormal([B, S, S, 1]) as tf.Tensor4D;
const est = checkMemory(spec, B, S, S, { training: true, parameters: model.countParams() });
console.log(`\nmemory estimate for a training batch: ${fmt(est.totalBytes / 2 ** 30)} GiB of the 4 GiB wasm heap`);
const bn = validateModelSpec({ batchNorm: true });
try {
  checkMemory(bn, B, S, S, { training: true, parameters: model.countParams(), backend: 'wasm' });
  console.log(`  same network with batch norm: fits (${fmt(checkMemory(bn, B, S, S, { training: true, backend: 'wasm' }).totalBytes / 2 ** 30)} GiB)`);
} catch (e) {
  if (!(e instanceof MemoryError)) throw e;
  console.log(`  with batch norm: ${fmt(e.neededBytes / 2 ** 30)} GiB does not fit one instance (max batch ${e.maxBatch}); 2 data-parallel workers hold ${B / 2} images each (${fmt(checkMemory(bn, B / 2, S, S, { training: true, backend: 'wasm' }).totalBytes / 2 ** 30)} GiB)`);
}

const vars = model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
const opt = tf.train.adam(1e-4);
const trainStep = () => {
  const l = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, vars);
  l!.dataSync();
  l!.dispose();
};
const inferStep = () => {
  const p = model.predict(x) as tf.Tensor;
  p.dataSync();
  p.dispose();
};
const tInfer1 = timeIt(inferStep, ITERS + 1);
// Training step, interleaved (best of ITERS each): 'swapped' = the swapped-conv filter gradient and
// the 1x1-conv transposed conv; 'previous' = chunked filter gradient with chunk cap 16384 and the
// 1x1-conv transposed conv; 'new' = chunk cap 2048 and the product-per-kernel-row transposed conv.
// (The 8-pixel-block stride phases of filter_grad.ts, 1.02-1.15x on the filter gradient alone, are in
// both chunked variants: 'previous' is not quite the code before that change.)
type StepVariant = 'swapped' | 'previous' | 'new';
const stepVariants: Record<StepVariant, () => void> = {
  swapped: () => {
    setFilterGradMethod('swapped');
    setTransposedMethod('conv');
  },
  previous: () => {
    setFilterGradMethod('gemm');
    setFilterGradChunkCap(16384);
    setTransposedMethod('conv');
  },
  new: () => {
    setFilterGradMethod('gemm');
    setFilterGradChunkCap(DEFAULT_FILTER_GRAD_CHUNK_CAP);
    setTransposedMethod('gemm');
  },
};
trainStep();
const tTrainAB: Record<StepVariant, number> = { swapped: Infinity, previous: Infinity, new: Infinity };
for (let it = 0; it < ITERS; it++) {
  for (const m of Object.keys(stepVariants) as StepVariant[]) {
    stepVariants[m]();
    const t0 = performance.now();
    trainStep();
    tTrainAB[m] = Math.min(tTrainAB[m], (performance.now() - t0) / 1000);
  }
}
stepVariants.new();
const tTrain1 = tTrainAB.new;
console.log(
  `\ntraining step, 1 thread, A/B/C interleaved: swapped filter gradient ${fmt(B / tTrainAB.swapped)} img/s, previous (chunk cap 16384, 1x1-conv up) ${fmt(B / tTrainAB.previous)} img/s, new ${fmt(B / tTrainAB.new)} img/s (new/previous ${fmt(tTrainAB.previous / tTrainAB.new)}x, new/swapped ${fmt(tTrainAB.swapped / tTrainAB.new)}x)`,
);

// Share of time per kernel in one training step.
const prof = await tf.profile(trainStep);
const byKernel = new Map<string, number>();
let fwdFlops = 0;
let fwdMs = 0;
let bfMs = 0;
let biMs = 0;
let bFlops = 0;
let upGradFlops = 0;
let upGradMs = 0;
const biKinds = { stride1: { ms: 0, flops: 0 }, up: { ms: 0, flops: 0 } };
for (const k of prof.kernels) {
  if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue; // wrappers of the kernels below
  const ms = k.kernelTimeMs as number;
  byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + ms);
  if (k.name === 'FusedConv2D' || k.name === 'Conv2D') {
    const [b, , , ci] = k.inputShapes[0] as number[];
    const [kh, kw] = k.inputShapes[1] as number[];
    const [, oh, ow, co] = k.outputShapes[0] as number[];
    // FusedConv2D (conv + bias) is the forward pass; plain Conv2D is the input gradient of the
    // transposed convs (2x2 stride 2).
    if (k.name === 'FusedConv2D') {
      fwdFlops += convFlops(b, oh, ow, kh, kw, ci, co);
      fwdMs += ms;
    } else {
      upGradFlops += convFlops(b, oh, ow, kh, kw, ci, co);
      upGradMs += ms;
    }
  }
  if (k.name === 'Conv2DBackpropFilter') {
    const [b, , , ci] = k.inputShapes[0] as number[];
    const [, oh, ow, co] = k.inputShapes[1] as number[];
    const [kh, kw] = k.outputShapes[0] as number[];
    bFlops += convFlops(b, oh, ow, kh, kw, ci, co);
    bfMs += ms;
  }
  if (k.name === 'Conv2DBackpropInput') {
    biMs += ms;
    const [b, h, w, co] = k.inputShapes[0] as number[]; // dy
    const [kh, kw, ci] = k.inputShapes[1] as number[];
    const [, oh] = k.outputShapes[0] as number[];
    const kind = oh > h ? biKinds.up : biKinds.stride1; // output larger than dy: a transposed conv up
    kind.ms += ms;
    kind.flops += convFlops(b, h, w, kh, kw, ci, co);
  }
}
const totalMs = [...byKernel.values()].reduce((a, b) => a + b, 0);
console.log(`\nshare of kernel time in one training step (${fmt(totalMs, 0)} ms in kernels of ${fmt(tTrain1 * 1000, 0)} ms per step):`);
for (const [name, ms] of [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`  ${name.padEnd(24)} ${fmt(ms, 0).padStart(7)} ms  ${fmt((100 * ms) / totalMs, 1).padStart(5)} %`);
}
// Training-step forward convs include the Conv2D calls inside the gradient kernels? No: those call
// kernels directly (not through the engine), so FusedConv2D/Conv2D here are the forward pass only.
console.log(`forward convolutions (FusedConv2D): ${fmt(fwdFlops / 1e9, 1)} GFLOP in ${fmt(fwdMs, 0)} ms = ${fmt(fwdFlops / fwdMs / 1e6, 1)} GFLOP/s (1 core; target >= 30)`);
console.log(`Conv2DBackpropFilter: ${fmt(bFlops / bfMs / 1e6, 1)} GFLOP/s (${fmt(bfMs, 0)} ms)`);
console.log(
  `Conv2DBackpropInput: ${fmt(biMs, 0)} ms; stride 1 (3x3 input gradients) ${fmt(biKinds.stride1.ms, 0)} ms ${fmt(biKinds.stride1.flops / biKinds.stride1.ms / 1e6, 1)} GFLOP/s, transposed conv up (2x2/2) ${fmt(biKinds.up.ms, 0)} ms ${fmt(biKinds.up.flops / biKinds.up.ms / 1e6, 1)} GFLOP/s`,
);
console.log(`Conv2D (input gradient of the transposed convs, 2x2/2): ${fmt(upGradMs, 0)} ms ${fmt(upGradFlops / upGradMs / 1e6, 1)} GFLOP/s`);

// ---------- data parallel, 2 workers ----------
const lossModule = fileURLToPath(new URL('../../models/parallel/fixtures/mse_loss.ts', import.meta.url));
const dp = await DataParallel.create({ spec, lossModule, workers: 2 });
const optDp = tf.train.adam(1e-4);
const tTrainDp = await timeAsync(async () => {
  await dp.step(model, optDp, x, y);
}, ITERS);
const tInferDp = await timeAsync(async () => {
  await dp.predict(model, x);
}, ITERS + 1);
await dp.close();

// ---------- data-parallel scaling, 1 to N workers ----------
// Efficiency = (img/s with w workers) / (w x img/s with 1 worker), each worker its own 1-thread wasm
// instance, the same batch cut into w shards; w up to the cores (powers of two, and the core count).
const nMax = Math.max(2, availableParallelism());
const scaleCounts = [...new Set([1, 2, ...[4, 8, 16, 32, 64].filter((w) => w < nMax), nMax])].filter((w) => w <= B).sort((a, b) => a - b);
const scaling: [number, number][] = [];
for (const w of scaleCounts) {
  const d = await DataParallel.create({ spec, lossModule, workers: w });
  const o = tf.train.adam(1e-4);
  scaling.push([w, await timeAsync(async () => { await d.step(model, o, x, y); }, ITERS)]);
  await d.close();
}

// Batch norm at batch 16 (did not fit one 4 GiB wasm heap in the prototype): 2 workers x 8 images.
let tTrainBnDp = NaN;
if (!quick) {
  const bnModel = buildModel(bn);
  const dpBn = await DataParallel.create({ spec: bn, lossModule, workers: 2 });
  const optBn = tf.train.adam(1e-4);
  tTrainBnDp = await timeAsync(async () => {
    await dpBn.step(bnModel, optBn, x, y);
  }, 1);
  await dpBn.close();
  bnModel.dispose();
}

// ---------- 2 wasm threads ----------
const thr = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
  const tf = await import('@tensorflow/tfjs'); const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { wasmBinaryDir } = await import(${JSON.stringify(new URL('../../models/backend.ts', import.meta.url).href)});
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true); wasm.setWasmPaths(wasmBinaryDir()); wasm.setThreadsCount(2);
  const ok = await tf.setBackend('wasm'); console.log('THREADS', ok, ok ? wasm.getThreadsCount() : 0); process.exit(0);`], { encoding: 'utf8', timeout: 60_000 });
const thrOk = /THREADS true 2/.test(thr.stdout);
const thrCode = (thr.stdout + thr.stderr).match(/ERR_[A-Z_]+/)?.[0];
const thrWhy = thrOk ? '' : thrCode === 'ERR_WORKER_PATH' ? 'ERR_WORKER_PATH (tfjs starts its wasm threads from a blob: URL, which Node refuses)' : (thrCode ?? 'did not start');

// ---------- PyTorch reference ----------
interface TorchResult { threads: number; train_img_s: number; infer_img_s: number; params: number }
const torch: Record<number, TorchResult | undefined> = {};
const py = '/usr/bin/python3';
const script = fileURLToPath(new URL('./torch_unet.py', import.meta.url));
if (!quick && existsSync(py) && spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
  for (const t of [1, 2]) {
    const r = spawnSync(py, [script, '--threads', String(t), '--batch', String(B), '--size', String(S), '--iters', String(ITERS)], { encoding: 'utf8', timeout: 300_000 });
    try {
      torch[t] = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
    } catch {
      console.log(`PyTorch (${t} threads) failed: ${r.stderr.slice(-300)}`);
    }
  }
} else if (!quick) console.log('PyTorch reference skipped: /usr/bin/python3 with torch not found');

// ---------- summary ----------
const img = (t: number) => B / t;
console.log(`\nthroughput, batch ${B}, ${S}x${S}, default U-Net (${be.provider}), best of ${ITERS} after a warm-up:`);
console.log(`  setting                     train img/s   infer img/s`);
console.log(`  wasm, 1 thread              ${fmt(img(tTrain1)).padStart(11)}   ${fmt(img(tInfer1)).padStart(11)}`);
console.log(`  wasm, 2 threads             ${'n/a'.padStart(11)}   ${'n/a'.padStart(11)}   (${thrOk ? 'started but not used by nanodose' : `threaded build does not start in Node: ${thrWhy}`})`);
console.log(`  wasm, 2 data-parallel workers ${fmt(img(tTrainDp)).padStart(9)}   ${fmt(img(tInferDp)).padStart(11)}   (speed-up ${fmt(tTrain1 / tTrainDp)}x training, ${fmt(tInfer1 / tInferDp)}x inference)`);
if (!quick) console.log(`  batch norm U-Net, 2 workers x ${B / 2} ${fmt(img(tTrainBnDp)).padStart(9)}   ${'-'.padStart(11)}   (one instance would need ${fmt(estimateMemory(bn, B, S, S, { training: true, parameters: model.countParams() }).totalBytes / 2 ** 30)} GiB)`);
for (const t of [1, 2]) {
  const r = torch[t];
  if (r) console.log(`  PyTorch CPU, ${t} thread${t > 1 ? 's' : ' '}       ${fmt(r.train_img_s).padStart(11)}   ${fmt(r.infer_img_s).padStart(11)}   (${r.params} parameters)`);
}
if (torch[1] && torch[2]) {
  console.log(`ratio nanodose/PyTorch training: 1 core ${fmt(img(tTrain1) / torch[1].train_img_s)}x, 2 cores ${fmt(img(tTrainDp) / torch[2].train_img_s)}x (target >= 0.6x on 2 cores)`);
  console.log(`ratio nanodose/PyTorch inference, 1 core: ${fmt(img(tInfer1) / torch[1].infer_img_s)}x`);
}
console.log(`\ndata-parallel training scaling, batch ${B} x ${S}x${S} (load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores):`);
for (const [w, t] of scaling) {
  const sp = scaling[0][1] / t;
  console.log(`  ${String(w).padStart(3)} worker${w > 1 ? 's' : ' '}  ${fmt(img(t)).padStart(8)} img/s  speed-up ${fmt(sp)}x  efficiency ${fmt((100 * sp) / w, 0)}%`);
}
tf.dispose([x, y]);
model.dispose();
process.exit(0);
