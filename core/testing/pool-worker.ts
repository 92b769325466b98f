/**
 * Test fixture of core/pool.test.ts: a TypeScript worker that imports a module (so it needs tsx),
 * answers SharedPool requests through serve() and piscina tasks through its default export.
 */
import { ConfigError } from '../validate.ts';
import { poolWorkerData, serve } from '../pool.ts';
import { isMainThread } from 'node:worker_threads';

type Req = { op: 'sum'; xs: number[] } | { op: 'config' } | { op: 'crash' } | { op: 'shared' };

async function handle(m: Req, tick: (n: number) => void): Promise<Record<string, unknown>> {
  if (m.op === 'sum') {
    let s = 0;
    for (const x of m.xs) { s += x; tick(1); }
    return { sum: s };
  }
  if (m.op === 'config') throw new ConfigError('fixture.field', 'must be right, got wrong');
  if (m.op === 'shared') {
    const d = await poolWorkerData<{ buf: Int32Array; k: number }>();
    d.buf[d.k] = 100 + d.k;
    return {};
  }
  process.exit(3);
}

if (!isMainThread && (await import('node:worker_threads')).workerData?.data !== undefined) serve<Req, Record<string, unknown>>(handle);

/** piscina's task handler. */
export default async function task(m: Req): Promise<Record<string, unknown>> {
  return handle(m, () => {});
}
