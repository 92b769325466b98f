/**
 * Fault injection: `generate`, `train` and `eval` are killed with SIGKILL at seeded moments, then
 * resumed (and killed again, then resumed to the end); the result must equal an uninterrupted run
 * byte for byte: shard files and manifest; weights, optimizer state (values and variable names) and
 * learning curve; results rows, tuning and slices. A moment is the k-th progress line the child
 * prints (NANODOSE_LOG_EVERY=0: one line per sample, step or block), never a sleep: the verdict
 * holds wherever after that line the kill lands. Tiny configs (synthetic 16^2 source, 3-layer
 * network, 3-iteration SIRT) so it fits CI. NANODOSE_FAULT_SEED picks other moments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stream } from '../core/random.ts';
import { runCli, startCli } from './testing/cli.ts';

const SRC = fileURLToPath(new URL('../datasets/testing/synthetic-source.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-faults-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const SEED = process.env.NANODOSE_FAULT_SEED ?? '16';
const rng = stream(SEED, 'fault-moments');
const env = { NANODOSE_LOG_EVERY: '0', NANODOSE_THREADS: '2' };
const cli = (...args: string[]) => runCli(args, { env });

/** Runs the CLI and SIGKILLs it right after its k-th line matching `event`; resolves with what happened. */
function killAt(args: string[], event: RegExp, k: number): Promise<{ killed: boolean; seen: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, { env });
    let seen = 0, killed = false, stderr = '', pending = '';
    const onData = (d: Buffer) => {
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        stderr += l + '\n';
        if (!killed && event.test(l) && ++seen === k) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!killed && code !== 0) reject(new Error(`${args[0]} exited ${code} before event ${k}: ${stderr}`));
      else resolve({ killed: killed && signal === 'SIGKILL', seen, stderr });
    });
  });
}

/** Every file under dir (relative path -> bytes), leaving out the named volatile files. */
function tree(dir: string, skip: (rel: string) => boolean = () => false): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) walk(p);
      else if (!skip(rel)) out.set(rel, readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function sameTree(got: string, want: string, skip?: (rel: string) => boolean): void {
  const a = tree(got, skip), b = tree(want, skip);
  assert.equal([...a.keys()].sort(), [...b.keys()].sort(), 'the same files');
  for (const [k, v] of b) assert.ok(a.get(k)!.equals(v), `${k} differs from the uninterrupted run's (fault seed ${SEED})`);
}

/** Kill at a seeded moment among the first `first` events, resume and kill again among the first `second`, then resume to the end. */
async function killResumeKill(what: string, args: string[], resumeArgs: string[], event: RegExp, first: number, second: number): Promise<number[]> {
  const k1 = 1 + rng.int(first), k2 = 1 + rng.int(second);
  const a = await killAt(args, event, k1);
  assert.ok(a.killed, `${what}: killed at event ${k1}`);
  const b = await killAt(resumeArgs, event, k2);
  const c = cli(...resumeArgs, '--quiet');
  assert.is(c.status, 0, c.stderr);
  assert.not.match(c.stderr, /looks like you are running TensorFlow\.js|HDF5-DIAG/, 'no library banners');
  return [k1, b.killed ? k2 : -1];
}

const DATA_CFG = join(root, 'data.json');
writeFileSync(DATA_CFG, JSON.stringify({ samplesPerShard: 2, simulation: { size: 16, nAngles: 5 }, split: { train: 0.5, val: 0.25, test: 0.25 } }));
const gen = (out: string, ...more: string[]) => ['generate', '--config', DATA_CFG, '--count', '8', '--seed', '5', '--out', out, '--source', SRC, ...more];
const ref = join(root, 'ref-data');

test('generate killed twice and resumed: the same shard files and manifest, byte for byte', async () => {
  const r = cli(...gen(ref, '--workers', '1', '--quiet'));
  assert.is(r.status, 0, r.stderr);
  const dir = join(root, 'killed-data');
  // 8 samples, one progress line each; killed on two workers, resumed on two
  const ks = await killResumeKill('generate', gen(dir, '--workers', '2'), gen(dir, '--workers', '2', '--resume'), /^generate .*: \d+\/\d+/, 6, 2);
  sameTree(dir, ref);
  console.log(`  generate killed after progress lines ${ks.join(', ')} (-1: finished first)`);
});

const trainArgs = (out: string, ...more: string[]) => ['train', '--data', ref, '--scheme', 'supervised', '--out', out, '--model', 'tiny', '--epochs', '3', '--steps', '3', '--batch', '2', '--patch', '8', '--val-projections', '2', '--seed', '4', '--workers', '1', '--backend', 'wasm', ...more];
// timing columns of log.jsonl differ between any two runs; everything else must not
const stripTiming = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => { const o = JSON.parse(l); delete o.seconds; delete o.imagesPerSecond; return o; });

test('train killed twice and resumed: the same weights, optimizer state (names too) and learning curve; no banner with --quiet', async () => {
  const refModel = join(root, 'ref-model');
  const r = cli(...trainArgs(refModel, '--quiet'));
  assert.is(r.status, 0, r.stderr);
  const dir = join(root, 'killed-model');
  // 3 epochs x 3 step lines, plus the epoch lines
  const ks = await killResumeKill('train', trainArgs(dir), trainArgs(dir, '--resume'), /^train supervised epoch \d+\/\d+: \d+\/\d+/, 7, 3);
  const skip = (rel: string) => rel === 'log.jsonl' || /learning-curve\.(png|svg)$/.test(rel) || rel === 'train-config.json';
  sameTree(dir, refModel, skip);
  assert.equal(stripTiming(join(dir, 'log.jsonl')), stripTiming(join(refModel, 'log.jsonl')));
  const names = (JSON.parse(readFileSync(join(dir, 'last', 'optimizer.json'), 'utf8')) as { weights: { name: string }[] }).weights.map((w) => w.name);
  assert.ok(names.includes('layer0_conv/kernel/m') && !names.some((n) => /_\d+\/[mv]$/.test(n)), `optimizer variable names: ${names.join(' ')}`);
  console.log(`  train killed after step lines ${ks.join(', ')}`);
});

test('train --backend cpu --quiet on 2 workers: the cpu backend\'s banner, printed inside each worker thread, stays off stderr', () => {
  const r = cli('train', '--data', ref, '--scheme', 'supervised', '--out', join(root, 'cpu-model'), '--model', 'tiny', '--epochs', '1', '--steps', '1', '--batch', '2', '--patch', '8', '--val-projections', '2', '--workers', '2', '--backend', 'cpu', '--quiet');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr.trim(), '', 'nothing on stderr with --quiet');
});

test('eval killed twice and resumed: the same results rows, tuning and slices', async () => {
  const evalArgs = (out: string) => ['eval', '--data', ref, '--methods', 'raw,gaussian', '--doses', '100,1000', '--recon', 'sirt:3', '--phantoms', '2', '--bootstrap', '10', '--workers', '1', '--out', out];
  const refEval = join(root, 'ref-eval');
  const r = cli(...evalArgs(refEval), '--quiet');
  assert.is(r.status, 0, r.stderr);
  const dir = join(root, 'killed-eval');
  // 14 blocks (2 phantoms x (2 doses x 2 methods + raw at 3 more doses)), one line each
  const ks = await killResumeKill('eval', evalArgs(dir), evalArgs(dir), /^eval: \d+\/\d+/, 10, 2);
  // the report renders timings and paths; the rows, tuning and slices are the numbers
  const skip = (rel: string) => !(rel === 'results.csv' || rel === 'tuning.json' || rel.startsWith('slices/'));
  sameTree(dir, refEval, skip);
  assert.ok(existsSync(join(dir, 'summary.json')));
  console.log(`  eval killed after block lines ${ks.join(', ')}`);
});

test.run();
