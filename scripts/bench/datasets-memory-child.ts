// Child of datasets.bench.ts: generates N samples at 64^3 (61 tilts) and prints its max RSS
// (worker threads share the process). argv: out N simulated|synthetic
import { generateDataset } from '../../datasets/generate.ts';
const [out, n, kind] = [process.argv[2], Number(process.argv[3]), process.argv[4] ?? 'simulated'];
const t0 = performance.now();
const synthetic = kind === 'synthetic';
await generateDataset({
  out,
  count: n,
  seed: 9,
  workers: 2,
  quiet: true,
  source: synthetic ? new URL('../../datasets/testing/synthetic-source.ts', import.meta.url).href : undefined,
  config: synthetic
    ? { samplesPerShard: 16, simulation: { size: 64, nAngles: 61 } }
    : { samplesPerShard: 16, simulation: { phantom: { size: 64 }, geometry: { angles: '-60:60:2' } } },
});
console.log(`maxRSS_kB ${process.resourceUsage().maxRSS} seconds ${(performance.now() - t0) / 1000}`);
