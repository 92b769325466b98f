/**
 * The CLI's exit codes (scripts/errors.ts): 0 on success, 2 with one line for a user's mistake
 * (usage error, bad value, missing input, unwritable output), 1 with a "report it" line for an
 * internal failure (stack only with --debug).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyError } from './errors.ts';
import { ConfigError, InternalError, isInternalError } from '../core/validate.ts';
import { TFJS_BANNER, glueNegativeValues, hideLibraryBanners } from './cli-args.ts';
import { runCli } from './testing/cli.ts';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'nanodose-exit-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) => runCli(args, { entry: true, cwd: root, env: { NANODOSE_DEBUG: '' } });
// Informational lines (`[nanodose] threads ...`) are not part of the error message.
const lines = (s: string) => s.trim().split('\n').filter((l) => l && !l.startsWith('[nanodose]'));

test('exit 0: --help', () => {
  assert.is(cli('--help').status, 0);
});

test('exit 2, one line: an unknown option, a bad value, a missing input', () => {
  for (const args of [['generate', '--count', '4', '--out', join(tmp, 'a'), '--bogus'], ['generate', '--count', 'abc', '--out', join(tmp, 'b')], ['inspect', join(tmp, 'missing.h5')]]) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^nanodose: /m);
  }
  assert.match(cli('generate', '--count', 'abc', '--out', join(tmp, 'b')).stderr, /count/);
  assert.not.ok(existsSync(join(tmp, 'a')) || existsSync(join(tmp, 'b')), 'nothing written');
});

test('exit 2: an output folder that cannot be written, nothing written', () => {
  const ro = join(tmp, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  try {
    const r = cli('generate', '--count', '2', '--out', join(ro, 'sub', 'ds'), '--quiet');
    if (process.getuid?.() === 0) return; // root writes anywhere: nothing to test
    assert.is(r.status, 2, r.stderr);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /permission denied|read-only/);
    assert.equal(readdirSync(ro), []);
  } finally {
    chmodSync(ro, 0o755);
  }
});

test('exit 2: an output path under a file (ENOTDIR; works as root too), nothing written', () => {
  const file = join(tmp, 'plain-file');
  writeFileSync(file, 'x');
  const r = cli('generate', '--count', '2', '--out', join(file, 'ds'), '--quiet');
  assert.is(r.status, 2, r.stderr);
  assert.is(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /not a directory|not a folder|already exists/);
  assert.is(readdirSync(tmp).filter((n) => n.startsWith('plain-file')).length, 1, 'nothing beside it');
});

test('the TensorFlow.js banner is hidden, other warnings pass', () => {
  const seen: unknown[][] = [];
  const con = { warn: (...a: unknown[]) => void seen.push(a) };
  hideLibraryBanners(con);
  con.warn(`\n============================\n${TFJS_BANNER}. To speed things up ...`);
  con.warn('a real warning');
  assert.equal(seen, [['a real warning']]);
});

test('exit 1: an internal failure asks for a report; the stack only with --debug', () => {
  const src = join(root, 'scripts', 'testing', 'broken-source.ts');
  const r = cli('generate', '--count', '2', '--out', join(tmp, 'c'), '--source', src, '--quiet');
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /internal error: TypeError/);
  assert.match(r.stderr, /report it/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack');
  const d = cli('generate', '--count', '2', '--out', join(tmp, 'c'), '--source', src, '--quiet', '--debug');
  assert.is(d.status, 1);
  assert.match(d.stderr, /\n\s+at /, 'stack with --debug');
});

test("eval/: a user's mistake is one line naming the field, exit 2, nothing written", () => {
  // A real (tiny) dataset, so that eval gets past --data and the option checks themselves are asserted.
  const cfg = join(tmp, 'tiny.json'), ds = join(tmp, 'tiny-ds');
  writeFileSync(cfg, JSON.stringify({ simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:7' } } }));
  const g = cli('generate', '--config', cfg, '--count', '2', '--out', ds, '--workers', '1', '--quiet');
  assert.is(g.status, 0, g.stderr);
  const out = join(tmp, 'ev');
  const cases: [string[], RegExp][] = [
    [['eval', '--data', ds, '--out', out, '--methods', 'raw,bogus'], /^nanodose: methods: unknown method 'bogus'; allowed: raw, gaussian/],
    [['eval', '--data', ds, '--out', out, '--doses', '1e3:1e2:3'], /^nanodose: doses: need 0 < lo <= hi, got '1e3:1e2:3'/],
    [['eval', '--data', ds, '--out', out, '--recon', 'fbp:cosine'], /^nanodose: recon: FBP filter must be one of ram-lak, shepp-logan, hann, got 'cosine'/],
    [['eval', '--data', join(tmp, 'no-data'), '--out', out], /^nanodose: .*no-data: input: no such file or directory/],
    [['report', join(tmp, 'not-a-part'), '--out', out], /^nanodose: .*not-a-part: no eval\.json/],
  ];
  mkdirSync(join(tmp, 'not-a-part'));
  for (const [args, want] of cases) {
    const r = cli(...args, '--quiet');
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, want);
    assert.not.match(r.stderr, /internal error|report it/);
  }
  assert.not.ok(existsSync(out), 'nothing written');
});

test('eval/: a broken invariant (InternalError) is a bug: exit 1 and a report line', () => {
  const src = join(root, 'scripts', 'testing', 'invariant-source.ts');
  const r = cli('generate', '--count', '2', '--out', join(tmp, 'inv'), '--source', src, '--quiet');
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /internal error: InternalError: fft: length 3 is not a power of two/);
  assert.match(r.stderr, /report it/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack');
});

test('classification: system errors, ConfigError-like messages, built-in error classes', () => {
  const sys = Object.assign(new Error("EROFS: read-only file system, mkdir '/x'"), { code: 'EROFS', path: '/x' });
  assert.equal(classifyError(sys), { exitCode: 2, message: '/x: read-only file system (EROFS)' });
  assert.is(classifyError(new Error('count: must be an integer')).exitCode, 2);
  assert.is(classifyError(new RangeError('Invalid array length')).exitCode, 1);
  assert.is(classifyError(new TypeError('x is undefined')).exitCode, 1);
  assert.is(classifyError(new ConfigError('methods', "unknown method 'x'")).exitCode, 2);
  assert.equal(classifyError(new InternalError('fft: length 3')).exitCode, 1);
  // a wrapper that adds a field keeps a bug a bug
  assert.ok(isInternalError(new InternalError('x')) && isInternalError(new RangeError('x')) && !isInternalError(new ConfigError('f', 'x')) && !isInternalError(new Error('x')));
});

test('outside eval/: a user\'s file or option is a ConfigError, a caller\'s wrong array a bug (InternalError)', async () => {
  const { readManifest } = await import('../datasets/manifest.ts');
  const { getPreset } = await import('./pipeline/presets.ts');
  const { Projector, parseTiltAngles } = await import('../generators/projection/index.ts');
  const empty = join(tmp, 'empty-dir');
  mkdirSync(empty);
  for (const [f, re] of [[() => readManifest(empty), /empty-dir: no manifest\.json/], [() => getPreset('nope'), /^preset: unknown preset 'nope'/]] as const) {
    try { f(); assert.unreachable(); } catch (e) { assert.ok(e instanceof ConfigError, String(e)); assert.match((e as Error).message, re); assert.is(classifyError(e).exitCode, 2); }
  }
  const p = new Projector({ angles: parseTiltAngles('-60:60:5'), nz: 2, ny: 4, nx: 4, nCols: 6 }, { workers: 1 });
  try {
    await p.forward(new Float32Array(3));
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof InternalError, String(e));
    assert.is(classifyError(e).exitCode, 1);
  } finally {
    await p.close();
  }
});

test('negative values are glued to their option', () => {
  assert.equal(glueNegativeValues(['eval', '--doses', '-5,10', '--seed', '-3']), ['eval', '--doses=-5,10', '--seed=-3']);
  assert.equal(glueNegativeValues(['--quiet', 'x', '-h']), ['--quiet', 'x', '-h']);
});

test.run();
