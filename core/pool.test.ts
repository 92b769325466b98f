/**
 * core/pool.ts: a kernel-source pool and a TypeScript-module pool answer every worker, forward
 * progress ticks and give back errors as the parent can tell them apart (a ConfigError stays one,
 * with its field; a crash names the worker and its exit code); a piscina queue on the same
 * bootstrap runs a TypeScript task.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Piscina } from 'piscina';
import { ConfigError, InternalError } from './validate.ts';
import { SharedPool, kernelSource, runTaskQueue, taskQueue } from './pool.ts';

function fillRange(out: Float64Array, z0: number, z1: number): void {
  for (let i = z0; i < z1; i++) out[i] = Math.sqrt(i) * 3;
}

test('kernel pool: each worker fills its range of a shared array, ticks arrive, a throw is an Error reply', async () => {
  const n = 100, out = new Float64Array(new SharedArrayBuffer(n * 8));
  const src = kernelSource({ fillRange }, 'const { out } = workerData;', "if (m.bad) throw new Error('bad range'); if (m.buggy) null.x; fillRange(out, m.z0, m.z1); tick(m.z1 - m.z0);");
  const pool = new SharedPool(3, { kernel: src }, () => ({ out }), 'test');
  try {
    let ticks = 0;
    await pool.all((k) => ({ z0: Math.floor((k * n) / 3), z1: Math.floor(((k + 1) * n) / 3) }), { onTick: (t) => (ticks += t) });
    const ref = new Float64Array(n);
    fillRange(ref, 0, n);
    assert.equal(Array.from(out), Array.from(ref));
    assert.is(ticks, n);
    try {
      await pool.request(1, { bad: true });
      assert.unreachable('should throw');
    } catch (e) {
      assert.ok(!(e instanceof ConfigError));
      assert.match((e as Error).message, /test worker 1: bad range/);
    }
    // A bug in a worker (a built-in error class) stays a bug in the parent: an InternalError (exit 1).
    try {
      await pool.request(2, { z0: 0, z1: 1, buggy: true });
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, InternalError);
      assert.match((e as Error).message, /^test worker 2: TypeError: /);
    }
    // The pool still answers after an error reply.
    await pool.request(0, { z0: 0, z1: 1 });
  } finally {
    await pool.close();
  }
});

test('kernel pool: close() waits for every worker to exit, even one whose reply arrives during close() (the process must not end first)', async () => {
  // The worker posts its reply itself, then raises a flag; the parent waits on the flag (Atomics.wait,
  // no timer), so the reply is queued, not yet handled, when close() starts: the order that once
  // unref'd the worker mid-close and let the process exit before terminate() resolved.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const src = kernelSource({}, 'const { flag } = workerData;', 'parentPort.postMessage({ id: m.id, late: true }); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0);');
  for (const n of [1, 2]) {
    flag[0] = 0;
    const pool = new SharedPool(n, { kernel: src }, () => ({ flag }), 'close-race');
    const reply = pool.request(n - 1, {});
    assert.is(Atomics.wait(flag, 0, 0), 'ok');
    const closed = pool.close();
    assert.is((await reply).late, true);
    await closed;
    await pool.request(0, {}).then(() => assert.unreachable('a closed pool answers'), (e: Error) => assert.match(e.message, /close-race: the pool is closed/));
  }
});

test('TypeScript pool: shared data per worker, ConfigError kept with its field, a crash rejects with the exit code', async () => {
  const buf = new Int32Array(new SharedArrayBuffer(8));
  const pool = new SharedPool(2, { module: new URL('./testing/pool-worker.ts', import.meta.url) }, (k) => ({ buf, k }), 'fixture');
  try {
    let ticks = 0;
    const r = await pool.request<{ sum: number }>(0, { op: 'sum', xs: [1, 2, 3.5] }, { onTick: (t) => (ticks += t) });
    assert.is(r.sum, 6.5);
    assert.is(ticks, 3);
    await pool.all(() => ({ op: 'shared' }));
    assert.equal(Array.from(buf), [100, 101]);
    try {
      await pool.request(1, { op: 'config' });
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.is((e as ConfigError).field, 'fixture.field');
      assert.is((e as Error).message, 'fixture.field: must be right, got wrong');
    }
    try {
      await pool.request(1, { op: 'crash' });
      assert.unreachable('should throw');
    } catch (e) {
      assert.match((e as Error).message, /fixture worker 1 exited with code 3/);
    }
  } finally {
    await pool.close();
  }
});

test('runTaskQueue: workerData once per worker, every result by index; a ConfigError stops the queue and keeps its field', async () => {
  const url = new URL('./testing/pool-worker.ts', import.meta.url);
  const got = new Map<number, number>();
  const xs = [5, 1, 4, 2, 3];
  let prepared = 0;
  await runTaskQueue<number, { y: number }>(taskQueue(url, 2, [], { queue: true, offset: 100 }), xs, {
    name: 'fixture queue',
    prepare: (x) => { prepared++; return { op: 'offset', x }; },
    onResult: (i, r) => void got.set(i, r.y),
  });
  assert.is(prepared, xs.length);
  assert.equal([...got.entries()].sort((a, b) => a[0] - b[0]).map(([, y]) => y), xs.map((x) => x + 100));
  try {
    await runTaskQueue(taskQueue(url, 2, [], { queue: true, offset: 0 }), [{ op: 'config' }, { op: 'sum', xs: [1] }], { name: 'fixture queue', onResult: () => {} });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).field, 'fixture.field');
  }
});

test('piscina task queue on the TypeScript bootstrap', async () => {
  const q = new Piscina(taskQueue(new URL('./testing/pool-worker.ts', import.meta.url), 2));
  try {
    const rs = await Promise.all([[1, 2], [3], [4, 5, 6]].map((xs) => q.run({ op: 'sum', xs })));
    assert.equal(rs.map((r) => r.sum), [3, 3, 15]);
  } finally {
    await q.destroy();
  }
});

test.run();
