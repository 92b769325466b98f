/**
 * Benchmark runner: every `scripts/bench/*.bench.ts` prints its own figures and ratios.
 *
 *   npm run bench                 all benchmarks
 *   npm run bench -- projector    only those whose name contains "projector"
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'bench');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passArgs = process.argv.slice(2).filter((a) => a.startsWith('-'));
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (benches.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}; have: ${readdirSync(dir).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b.replace('.bench.ts', '')} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, b), ...passArgs], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
