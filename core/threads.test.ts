import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableParallelism } from 'node:os';
import { defaultThreads, describeThreads, parseThreads, resolveThreads, setThreads } from './threads.ts';

function withEnv(v: string | undefined, f: () => void): void {
  const old = process.env.NANODOSE_THREADS;
  if (v === undefined) delete process.env.NANODOSE_THREADS;
  else process.env.NANODOSE_THREADS = v;
  try {
    f();
  } finally {
    if (old === undefined) delete process.env.NANODOSE_THREADS;
    else process.env.NANODOSE_THREADS = old;
    setThreads(undefined);
  }
}

test('precedence: explicit option > --threads > NANODOSE_THREADS > cores', () => {
  withEnv(undefined, () => {
    assert.is(resolveThreads(), availableParallelism());
    assert.is(defaultThreads().source, 'cores');
  });
  withEnv('3', () => {
    assert.is(resolveThreads(), 3);
    assert.is(defaultThreads().source, 'NANODOSE_THREADS');
    setThreads(5);
    assert.is(resolveThreads(), 5);
    assert.is(defaultThreads().source, '--threads');
    assert.is(resolveThreads(2), 2);
    assert.match(describeThreads(), /^using 5 threads \(--threads\)$/);
  });
});

test('bad counts name their source', () => {
  for (const bad of ['0', '-1', '1.5', 'many', '1000']) {
    withEnv(bad, () => assert.throws(() => resolveThreads(), /^NANODOSE_THREADS: must be an integer in \[1, 256\] threads/));
  }
  withEnv(undefined, () => {
    assert.throws(() => setThreads(0), /^--threads: must be an integer/);
    assert.throws(() => setThreads(2.5), /^--threads: must be an integer/);
    assert.throws(() => resolveThreads(0, 'workers'), /^workers: must be an integer/);
    assert.throws(() => resolveThreads(Number.NaN, 'workers'), /^workers: /);
  });
  // An explicit option wins over a bad environment value (it is never read).
  withEnv('zero', () => assert.is(resolveThreads(4), 4));
  assert.is(parseThreads('x', ' 7 '), 7);
});

test.run();
