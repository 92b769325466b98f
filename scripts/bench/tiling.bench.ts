/**
 * Benchmark of tiled inference (models/tiling.ts denoiseTiled) on the WebAssembly backend, 1 thread.
 *
 * Networks: the default U-Net (validateModelSpec({})) and a small U-Net (depth 3, 16 base filters),
 * untrained (throughput does not depend on the weights). Maps: 256^2 and 512^2 single-channel count
 * maps. For each map, in megapixels of output per second (best of a few runs on a shared machine):
 *   - reference: whole-image predictPadded (x / s, predict, * s with the whole-map scales s);
 *   - denoiseTiled as one tile (tile = map size), and with tile 128 and 256 at the default overlap
 *     (minimumOverlap(spec) + DEFAULT_BLEND), each without and with tta (8 dihedral transforms);
 *   - overhead = time(tiled) / time(one tile), beside the pixel-work ratio of the tiling
 *     (sum over tiles of the padded tile area / map area), which the overhead should track;
 *   - max |y - y_ref| / max |y_ref| (y_ref: predictPadded, or one-tile tta for tta): tiling is exact.
 * A configuration whose predicted time per run (reference seconds per pixel x pixel work x
 * transforms) exceeds the budget, or whose pixel work exceeds 10x one tile, is not run; its tile count,
 * pixel-work ratio and predicted time are still printed.
 * (With the default U-Net, tile 128 at overlap 118 advances only 8 px per tile: ~70-150x the work.)
 *
 *   npm run bench -- tiling             (about 2-3 minutes on 2 cores)
 *   npm run bench -- tiling --quick     (256^2 only, best of 2, 10 s budget; ~20 s)
 */
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { initBackend } from '../../models/backend.ts';
import type { ModelMetadata } from '../../models/io.ts';
import { buildModel, padMultiple, predictPadded, receptiveField } from '../../models/networks/build.ts';
import { validateModelSpec, type ModelSpec } from '../../models/networks/spec.ts';
import { channelScales, defaultNormalisation } from '../../models/normalise.ts';
import { contextExtent, DEFAULT_BLEND, denoiseTiled, minimumOverlap, tileStarts } from '../../models/tiling.ts';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [256] : [256, 512];
const TILES = [128, 256];
/** Most timed runs per configuration, and the seconds after which no further run starts. */
const MAX_RUNS = quick ? 2 : 3;
const REPEAT_CAP_S = 8;
/** A configuration predicted to take longer than this per run is not run. */
const BUDGET_S = quick ? 10 : 45;
/** A tiling that does more than this many times the pixel work of one tile is not run (a poor tile/overlap choice). */
const MAX_WORK = 10;

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** Best wall time (s) of up to `maxRuns` calls; stops repeating once `cap` seconds have been spent. */
async function best<T>(fn: () => Promise<T>, maxRuns: number, cap: number): Promise<{ s: number; out: T; runs: number }> {
  let s = Infinity, out!: T, runs = 0, spent = 0;
  while (runs < maxRuns) {
    const t0 = performance.now();
    out = await fn();
    const dt = (performance.now() - t0) / 1000;
    s = Math.min(s, dt);
    spent += dt;
    runs++;
    if (spent + dt > cap) break;
  }
  return { s, out, runs };
}

/** max |a - b| / max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  let e = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return e / Math.max(m, 1e-30);
}

/** Tiles and pixel work (padded tile area summed over tiles) of one n x n map. */
function tiling(spec: ModelSpec, n: number, tile: number, overlap: number): { tiles: string; work: number } {
  const m = padMultiple(spec);
  const t = tileStarts(n, tile, overlap, m);
  const len = t.map(([a, b]) => Math.ceil((b - a) / m) * m);
  const sum = len.reduce((a, b) => a + b, 0);
  return { tiles: `${t.length}x${t.length}`, work: sum * sum };
}

/** Distance between the starts of adjacent tiles before spreading: tile - overlap rounded down to the pooling grid. */
function tileStep(spec: ModelSpec, tile: number, overlap: number): number {
  const m = padMultiple(spec);
  return Math.floor((Math.floor(tile / m) * m - overlap) / m) * m;
}

/** A deterministic low-dose count map (a few counts per pixel, smooth structure plus texture). */
function countMap(n: number): Float32Array {
  const x = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) x[i * n + j] = Math.floor(3 + 2 * Math.sin(i * 0.07) * Math.cos(j * 0.05) + ((i * 31 + j * 17) % 5));
  }
  return x;
}

const be = await initBackend({ backend: 'wasm', threads: 1 });
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; ${be.provider}, ${be.threads} thread; timings on a shared machine are noisy`);
console.log(`best of up to ${MAX_RUNS} runs (fewer once ${REPEAT_CAP_S} s are spent); configurations predicted over ${BUDGET_S} s per run are not run${quick ? ' (--quick)' : ''}`);

const nets: { label: string; spec: ModelSpec }[] = [
  { label: 'default U-Net', spec: validateModelSpec({}) },
  { label: 'U-Net depth 3, 16 filters', spec: validateModelSpec({ depth: 3, filters: 16 }) },
];
const summary: string[] = [];

for (const { label, spec } of nets) {
  const model = buildModel(spec);
  const metadata: ModelMetadata = { spec, normalisation: defaultNormalisation(), scheme: 'bench', channels: ['Au'], nanodoseVersion: '' };
  const { before, after } = contextExtent(spec);
  const minOv = minimumOverlap(spec);
  const overlap = minOv + DEFAULT_BLEND;
  console.log(`\n${label}: depth ${spec.depth}, ${spec.filters} filters, ${spec.down}/${spec.up}, ${model.countParams()} parameters; receptive field ${receptiveField(spec)} px, cone ${before}/${after} px, minimum overlap ${minOv}, default overlap ${overlap}, pad multiple ${padMultiple(spec)}`);
  console.log(`  map    mode                    tiles  px work    MP/s  vs one tile  max err/range`);
  for (const n of SIZES) {
    const x = countMap(n);
    const P = n * n;
    const mp = P / 1e6;
    // Reference: whole-image predictPadded with the whole-map scale.
    const s = channelScales(x, 1, n, n, defaultNormalisation())[0];
    const wholeImage = async () => {
      const y = tf.tidy(() => predictPadded(model, spec, tf.tensor4d(x.map((v) => v / s), [1, n, n, 1])));
      const d = (await y.data()) as Float32Array;
      y.dispose();
      return d.map((v) => v * s);
    };
    await wholeImage(); // warm-up (first call at a size grows the wasm heap), not timed
    const ref = await best(wholeImage, MAX_RUNS, REPEAT_CAP_S);
    const secPerWorkPx = ref.s / tiling(spec, n, n, overlap).work;
    console.log(`  ${`${n}^2`.padEnd(6)} ${'predictPadded (reference)'.padEnd(23)} ${'-'.padStart(6)} ${'-'.padStart(8)} ${fmt(mp / ref.s, 3).padStart(7)}  ${'-'.padStart(11)}  -`);
    for (const tta of [false, true]) {
      let one: { s: number; out: Float32Array } | undefined;
      for (const mode of [{ tile: n, whole: true }, ...TILES.map((t) => ({ tile: t, whole: false }))]) {
        const { tile, whole } = mode;
        const name = `${tta ? 'tta, ' : ''}${whole ? 'one tile' : `tile ${tile}`}`;
        const g = tiling(spec, n, tile, overlap);
        const ratio = g.work / tiling(spec, n, n, overlap).work;
        const head = `  ${`${n}^2`.padEnd(6)} ${name.padEnd(23)} ${g.tiles.padStart(6)} ${fmt(ratio).padStart(7)}x`;
        if (!whole && tile >= n) {
          console.log(`${head}  (the map fits one tile: same as one tile)`);
          continue;
        }
        const est = secPerWorkPx * g.work * (tta ? 8 : 1);
        if (est > BUDGET_S || ratio > MAX_WORK) {
          console.log(`${head}  not run: predicted ${fmt(est, 0)} s per run${ratio > MAX_WORK ? `, pixel work > ${MAX_WORK}x (step ${tileStep(spec, tile, overlap)} px between tiles)` : ` > ${BUDGET_S} s`}`);
          summary.push(`${label}, ${n}^2, ${name}: not run (pixel work ${fmt(ratio, 1)}x one tile)`);
          continue;
        }
        const r = await best(() => denoiseTiled(model, x, [1, n, n], { metadata, tile, overlap, tta }), tta ? 1 : MAX_RUNS, REPEAT_CAP_S);
        if (whole) one = r;
        const err = tta ? (one ? relErr(r.out, one.out) : NaN) : relErr(r.out, ref.out);
        const over = one ? r.s / one.s : NaN;
        console.log(`${head} ${fmt(mp / r.s, 3).padStart(7)}  ${`${fmt(over)}x`.padStart(11)}  ${whole && tta ? '(tta reference)' : err.toExponential(1)}${r.runs > 1 ? '' : '  (1 run)'}`);
        if (whole) summary.push(`${label}, ${n}^2, ${name}: ${fmt(mp / r.s, 3)} MP/s = ${fmt(r.s / ref.s)}x the time of predictPadded`);
        else summary.push(`${label}, ${n}^2, ${name}: ${fmt(mp / r.s, 3)} MP/s, overhead ${fmt(over)}x one tile (pixel work ${fmt(ratio)}x)`);
      }
    }
  }
  model.dispose();
}
console.log(`\nsummary (wasm, 1 thread; overhead = tiled time / one-tile time):`);
for (const l of summary) console.log(`  ${l}`);
process.exit(0);
