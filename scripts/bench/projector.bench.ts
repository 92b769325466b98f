/**
 * Projector benchmark (issue 3): forward and back projection throughput of the Joseph projector
 * (generators/projection) at 128^3 and 256^3 with 60 tilts over [-90, 90), on 1 and 2 workers.
 * Throughput counts ray-voxel updates as nAngles x nz x ny x nx per projection (one interpolated
 * sample per voxel row/column crossed, about one per voxel and angle). Also prints scikit-image's
 * `radon` time for one slice (scripts/bench/radon_skimage.py, /usr/bin/python3) and the speed ratio
 * per slice against our 1-worker forward projection.
 *
 * Then the analytic (exact chord-length) projector (generators/projection/analytic.ts) at 128^2 pixels x 60
 * tilts with detector super-sampling s = 1 and 3, for a sphere, a rotated cube, a rounded truncated
 * octahedron and a sampled core-shell phantom: sub-rays per second (128^2 x 60 x s^2 / time) and chords per
 * second (sub-rays x solids), against voxelise + Joseph projection of the same phantom (the 'voxel' path).
 *
 *   npm run bench -- projector          (BENCH_QUICK=1: 128^3 only)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Projector, makeGeometry, analyticProjection } from '../../generators/projection/index.ts';
import { Ellipsoid, Polytope, buildShape, defaultPhantomConfig, samplePhantom, voxelise, type Phantom, type Region } from '../../generators/phantoms/index.ts';
import { quaternionToMatrix } from '../../core/random.ts';

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

// Analytic projector: 128^2 x 60 tilts, s = 1 and 3, one thread.
{
  const N = 128;
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N });
  const ql = Math.hypot(0.8, 0.3, -0.4, 0.33), q = { w: 0.8 / ql, x: 0.3 / ql, y: -0.4 / ql, z: 0.33 / ql };
  const rot = quaternionToMatrix(q);
  const one = (name: string, regions: Region[], E = 1): [string, Phantom] => [name, { size: N, elements: [{ symbol: 'Au', Z: 79 }, { symbol: 'Ag', Z: 47 }].slice(0, E), regions, params: { shapeClass: name, composition: 'solid' } }];
  const cores = { ...defaultPhantomConfig(), diffuseProbability: 0, composition: { 'core-shell': 1 } };
  const phantoms: [string, Phantom][] = [
    one('sphere r=50', [{ solid: new Ellipsoid(50, 50, 50, [1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 2, 3]), fractions: [1], blur: 0 }]),
    one('rotated cube a=64', [{ solid: new Polytope([1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1], [32, 32, 32, 32, 32, 32], 0, rot, [1, 2, 3]), fractions: [1], blur: 0 }]),
    one('rounded truncated octahedron', [{ solid: buildShape({ shapeClass: 'truncated-octahedron', size: 105, centre: [1, 2, 3], rotation: q, rounding: 6, dims: { truncation: 0.6 } }), fractions: [1], blur: 0 }]),
    ['sampled core-shell (seed 7, #1)', samplePhantom(cores, 7, 1)],
  ];
  const jp = new Projector(geom, { workers: 1 });
  for (const [name, ph] of phantoms) {
    const nSolids = new Set(ph.regions.flatMap((r) => (r.minus ? [r.solid, r.minus] : [r.solid]))).size;
    let t0 = performance.now();
    const vols = voxelise(ph);
    for (const v of vols) await jp.forward(v);
    const tv = (performance.now() - t0) / 1000;
    for (const ss of [1, 3]) {
      analyticProjection(ph, geom, { supersample: ss }); // warm-up
      t0 = performance.now();
      analyticProjection(ph, geom, { supersample: ss });
      const ta = (performance.now() - t0) / 1000;
      const rays = N * N * nAngles * ss * ss;
      console.log(`analytic ${N}^2 x ${nAngles} tilts, s=${ss}, ${name} (${nSolids} solid${nSolids > 1 ? 's' : ''}): ${ta.toFixed(3)} s = ${(rays / ta / 1e6).toFixed(2)} M sub-rays/s, ${((rays * nSolids) / ta / 1e6).toFixed(2)} M chords/s (bounding-sphere culled); voxelise + Joseph ${tv.toFixed(3)} s, ratio analytic/voxel ${(ta / tv).toFixed(2)}x`);
    }
  }
  await jp.close();
}
