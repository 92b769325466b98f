import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectWork, formatDuration, phases, progress, startOverall, status } from './progress.ts';

/** A stream that records what is written (plain lines: not a TTY). */
function sink() {
  const out: string[] = [];
  return { out, stream: { isTTY: false, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream };
}

test('formatDuration', () => {
  assert.is(formatDuration(7.4), '7s');
  assert.is(formatDuration(83), '1m23s');
  assert.is(formatDuration(3725), '1h02m');
  assert.is(formatDuration(NaN), '?');
});

test('one stage: the rest of the expected work at the rate since the work began', () => {
  let now = 0;
  const job = startOverall('train', [{ name: 'train' }], () => now);
  job.begin('train');
  now = 40_000; // start-up before the epochs: not part of the rate
  expectWork(100);
  const bar = progress('epoch 1/4', 25, { quiet: true });
  now = 50_000;
  for (let i = 0; i < 25; i++) bar.increment(1);
  assert.is(job.eta(), 30); // 25 units in 10 s, 75 to go
  job.end();
});

test('several stages: the stages to come scale by the speed so far against their weights', () => {
  let now = 0;
  const job = startOverall('run', [{ name: 'generate', weight: 10 }, { name: 'reused', weight: 1000 }, { name: 'train', weight: 50 }, { name: 'eval', weight: 40 }], () => now);
  job.begin('generate');
  assert.is(job.eta(), undefined); // nothing done yet: nothing to estimate from
  const g = progress('generate', 10, { quiet: true });
  now = 20_000;
  g.increment(10); // 2x slower than the weights say
  job.skip('reused');
  job.begin('train');
  expectWork(100);
  progress('epoch', 100, { quiet: true }).increment(50);
  now = 70_000;
  // train: 50 s for half -> 50 s left; speed (20 + 50) s / (10 + 25) weight = 2; eval 40 x 2 = 80 s
  assert.is(job.eta(), 130);
  job.begin('eval');
  now = 80_000;
  const e = progress('eval', 4, { quiet: true });
  e.increment(1);
  now = 90_000;
  // eval: 1 of 4 blocks in 10 s since its bar began -> 30 s left; nothing after it
  assert.is(job.eta(), 30);
  job.end();
  assert.is(job.eta(), 0);
});

test('a stage to come without a weight: no overall estimate', () => {
  let now = 0;
  const job = startOverall('run', [{ name: 'a', weight: 1 }, { name: 'b' }], () => now);
  job.begin('a');
  progress('a', 2, { quiet: true }).increment(1);
  now = 1000;
  assert.is(job.eta(), undefined);
  job.end();
});

test('plain lines carry the bar ETA and the job ETA; a bar after the job ends shows none', () => {
  let now = 0;
  const job = startOverall('run', [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }], () => now);
  job.begin('a');
  const { out, stream } = sink();
  const bar = progress('a', 4, { stream, logEverySeconds: 0 });
  now = 2000;
  bar.increment(2);
  // a: 2 of 4 in 2 s -> 2 s left; speed 2 s / 0.5 weight = 4 s per weight; b: 3 x 4 = 12 s
  assert.match(out.at(-1)!, /^a: 2\/4 \(50%\), .* items\/s, eta \d+s, run eta 14s\n$/);
  job.begin('b');
  const s3 = sink();
  const last = progress('b', 6, { stream: s3.stream, logEverySeconds: 0 });
  now = 4000;
  last.increment(3);
  assert.not.match(s3.out.at(-1)!, /run eta/, 'the last stage in one bar: its own ETA is the job\'s');
  job.end();
  const s2 = sink();
  const b2 = progress('b', 2, { stream: s2.stream, logEverySeconds: 0 });
  b2.increment(1);
  assert.not.match(s2.out.at(-1)!, /run eta/);
});

test('status prints its line once when not on a terminal', () => {
  const { out, stream } = sink();
  const st = status('train: building the validation set', { stream });
  st.update('train: validating the untrained network');
  st.stop();
  assert.equal(out, ['train: building the validation set ...\n', 'train: validating the untrained network ...\n']);
  const q = sink();
  status('x', { stream: q.stream, quiet: true }).stop();
  assert.equal(q.out, []);
});

test('phases: each lap names the time since the previous one', () => {
  let now = 0;
  const p = phases({ clock: () => now });
  now = 7100;
  p.lap('start-up');
  now = 8700;
  p.lap('denoising');
  assert.is(p.text(), 'start-up 7.1 s, denoising 1.6 s');
  assert.is(p.total(), 8.7);
});

test('fractional steps: 10 steps of 0.1 show as 1/1, not 0.9999999999999999/1', () => {
  const { out, stream } = sink();
  const bar = progress('sirt', 1, { stream, logEverySeconds: 0 });
  for (let i = 0; i < 10; i++) bar.increment(0.1);
  bar.stop();
  assert.ok(out.some((l) => l.startsWith('sirt: 1/1 (100%)')), out.join(''));
  assert.not.ok(out.some((l) => /0\.9999/.test(l)), out.join(''));
});

test.run();
