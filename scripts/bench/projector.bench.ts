/**
 * Projector benchmark (issue 3): forward and back projection throughput of the Joseph projector
 * (generators/projection) at 128^3 and 256^3 with 60 tilts over [-90, 90), on 1 and 2 workers.
 * Throughput counts ray-voxel updates as nAngles x nz x ny x nx per projection (one interpolated
 * sample per voxel row/column crossed, about one per voxel and angle). Also prints scikit-image's
 * `radon` time for one slice (scripts/bench/radon_skimage.py, /usr/bin/python3) and the speed ratio
 * per slice against our 1-worker forward projection.
 *
 *   npm run bench -- projector          (BENCH_QUICK=1: 128^3 only)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Projector, makeGeometry } from '../../generators/projection/index.ts';

const quick = !!process.env.BENCH_QUICK;
const nAngles = 60;
const angles = Array.from({ length: nAngles }, (_, i) => -90 + (i * 180) / nAngles);
const sizes = quick ? [128] : [128, 256];
const perSlice1: Record<number, number> = {};

for (const N of sizes) {
  const vol = new Float32Array(N ** 3);
  for (let i = 0; i < vol.length; i++) vol[i] = (i * 2654435761) % 1000 / 1000;
  const updates = nAngles * N ** 3;
  for (const workers of [1, 2]) {
    const p = new Projector(makeGeometry({ angles, nz: N, ny: N, nx: N }), { workers });
    const ts = await p.forward(vol); // warm-up (also starts the workers)
    await p.back(ts);
    const reps = N === 128 ? 3 : 1;
    let tf = Infinity, tb = Infinity;
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now(); await p.forward(vol, ts); tf = Math.min(tf, (performance.now() - t0) / 1000);
      t0 = performance.now(); await p.back(ts, vol); tb = Math.min(tb, (performance.now() - t0) / 1000);
    }
    await p.close();
    if (workers === 1) perSlice1[N] = tf / N;
    console.log(`projector ${N}^3, ${nAngles} tilts, ${workers} worker(s): forward ${tf.toFixed(3)} s = ${(updates / tf / 1e6).toFixed(0)} M updates/s (${(updates / tf / 1e6 / workers).toFixed(0)} M/s per worker); back ${tb.toFixed(3)} s = ${(updates / tb / 1e6).toFixed(0)} M updates/s (${(updates / tb / 1e6 / workers).toFixed(0)} M/s per worker)`);
  }
}

const script = fileURLToPath(new URL('./radon_skimage.py', import.meta.url));
for (const N of sizes) {
  const r = spawnSync('/usr/bin/python3', [script, String(N), String(nAngles), '3'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) { console.log(`skimage radon ${N}^2: not available (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`); continue; }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { perSliceSec: number };
  console.log(`skimage radon ${N}^2 slice, ${nAngles} angles: ${(j.perSliceSec * 1000).toFixed(1)} ms; ours (1 worker forward, per slice) ${(perSlice1[N] * 1000).toFixed(2)} ms; ratio ${(j.perSliceSec / perSlice1[N]).toFixed(1)}x`);
}
