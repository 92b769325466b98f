/**
 * Test runner: finds every `*.test.ts` in the source folders and runs each file in its own Node
 * process (so backends, worker pools and global state never leak between files), two at a time.
 * Each file is a uvu suite that runs itself; this runner adds up uvu's totals and ends with the
 * plain line `N passed, N failed`. Exit code 1 on any failure. A test skipped because a client or
 * reference package is missing prints one `skip: ...` line (datasets/clients.test.ts); the runner
 * counts the skipped tests and repeats those lines at the end.
 *
 *   npm test                    all tests
 *   npm test -- generators      only files whose path contains "generators"
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';

const root = process.cwd();
const folders = ['core', 'generators', 'datasets', 'models', 'training', 'eval', 'scripts'];
const filters = process.argv.slice(2);

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
}

const files: string[] = [];
for (const f of folders) {
  try {
    walk(join(root, f), files);
  } catch {
    /* folder absent */
  }
}
files.sort();
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const concurrency = Math.max(1, Math.min(Number(process.env.NANODOSE_TEST_JOBS ?? 2), cpus().length));

interface Result { file: string; passed: number; failed: number; skipped: number; ok: boolean; output: string; seconds: number; skips: string[] }

function runFile(file: string): Promise<Result> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    // h5wasm loads untransformed by its import URL (datasets/formats/hdf5/emd.ts H5WASM_URL).
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      const text = strip(output);
      const total = sumOf(text, /Total:\s+(\d+)/g);
      const passed = sumOf(text, /Passed:\s+(\d+)/g);
      const skipped = sumOf(text, /Skipped:\s+(\d+)/g);
      // uvu's Total counts the tests that ran (skipped ones are not in it).
      let failed = Math.max(0, total - passed);
      // A file that crashed before uvu printed its totals counts as one failure.
      if (code !== 0 && failed === 0) failed = 1;
      const skips = text.split('\n').filter((l) => l.startsWith('skip: ')).map((l) => l.slice(6));
      resolve({ file, passed, failed, skipped, ok: code === 0 && failed === 0, output: text, seconds: (Date.now() - t0) / 1000, skips });
    });
  });
}

function sumOf(text: string, re: RegExp): number {
  let s = 0;
  for (const m of text.matchAll(re)) s += Number(m[1]);
  return s;
}

const queue = [...selected];
const results: Result[] = [];
async function worker(): Promise<void> {
  for (let f = queue.shift(); f; f = queue.shift()) {
    const r = await runFile(f);
    results.push(r);
    const tag = r.ok ? 'ok  ' : 'FAIL';
    console.log(`${tag} ${relative(root, r.file)}  (${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}, ${r.seconds.toFixed(1)} s)`);
    if (!r.ok) console.log(r.output.split('\n').map((l) => `     | ${l}`).join('\n'));
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
console.log(`\n${results.length} test files${skipped ? `, ${skipped} test${skipped === 1 ? "" : "s"} skipped:` : ''}`);
for (const r of results) for (const l of r.skips) console.log(`  ${relative(root, r.file)}: ${l}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || results.length === 0 ? 1 : 0);
