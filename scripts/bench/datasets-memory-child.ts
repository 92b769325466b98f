// Child of datasets.bench.ts: generates N samples at 64^3 and prints its max RSS (worker threads share the process).
import { generateDataset } from '../../datasets/generate.ts';
const [out, n] = [process.argv[2], Number(process.argv[3])];
const t0 = performance.now();
await generateDataset({ out, count: n, seed: 9, workers: 2, quiet: true, config: { samplesPerShard: 64, simulation: { phantom: { size: 64 }, geometry: { angles: '-60:60:2' } } } });
console.log(`maxRSS_kB ${process.resourceUsage().maxRSS} seconds ${(performance.now() - t0) / 1000}`);
