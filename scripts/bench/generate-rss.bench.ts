/**
 * Peak memory of `nanodose generate` as a user runs it (issue 16): N samples (BENCH_RSS_N, default
 * 1000) of the default config at SIZE^3 (BENCH_RSS_SIZE, default 64; 29 tilts) on 2 workers, the CLI
 * in a child process under `/usr/bin/time -v` (its "Maximum resident set size": the process with
 * its worker threads). Target: under 1 GiB. Prints the figure, the time and samples/s.
 *
 *   npm run bench -- generate-rss            (BENCH_RSS_N=100 for a shorter run)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../../core/validate.ts';

const N = Number(process.env.BENCH_RSS_N ?? 1000);
const SIZE = Number(process.env.BENCH_RSS_SIZE ?? 64);
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) {
  console.log(`${TIME} is not installed (Debian: apt-get install time): peak RSS not measured`);
  process.exit(0);
}
const root = mkdtempSync(join(tmpdir(), 'nanodose-bench-rss-'));
try {
  const cfg = join(root, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ simulation: { phantom: { size: SIZE } } }));
  const cli = fileURLToPath(new URL('../nanodose.mjs', import.meta.url));
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-v', process.execPath, cli, 'generate', '--config', cfg, '--count', String(N), '--out', join(root, 'ds'), '--workers', '2', '--quiet'], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new InternalError(`generate failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  const mib = kb / 1024;
  console.log(`generate ${N} samples at ${SIZE}^3 (default config, 29 tilts), 2 workers: peak RSS ${mib.toFixed(0)} MiB, ${seconds.toFixed(0)} s (${(N / seconds).toFixed(2)} samples/s); target < 1024 MiB: ${mib < 1024 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
