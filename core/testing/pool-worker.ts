/**
 * Test fixture of core/pool.test.ts: a TypeScript worker that imports a module (so it needs tsx),
 * answers SharedPool requests through serve() and piscina tasks through its default export.
 */
import { ConfigError } from '../validate.ts';
import { errorReply, poolWorkerData, serve } from '../pool.ts';
import { isMainThread } from 'node:worker_threads';

type Req = { op: 'sum'; xs: number[] } | { op: 'config' } | { op: 'crash' } | { op: 'shared' } | { op: 'offset'; x: number };

async function handle(m: Req, tick: (n: number) => void): Promise<Record<string, unknown>> {
  if (m.op === 'sum') {
    let s = 0;
    for (const x of m.xs) { s += x; tick(1); }
    return { sum: s };
  }
  if (m.op === 'offset') return { y: m.x + (await poolWorkerData<{ offset: number }>()).offset };
  if (m.op === 'config') throw new ConfigError('fixture.field', 'must be right, got wrong');
  if (m.op === 'shared') {
    const d = await poolWorkerData<{ buf: Int32Array; k: number }>();
    d.buf[d.k] = 100 + d.k;
    return {};
  }
  process.exit(3);
}

// A SharedPool's worker gets data without `queue`; a piscina queue's worker may get { queue: true, ... }.
const data = isMainThread ? undefined : ((await import('node:worker_threads')).workerData?.data as { queue?: boolean } | undefined);
if (data !== undefined && !data.queue) serve<Req, Record<string, unknown>>(handle);

/** piscina's task handler: the result, or the error as runTaskQueue rebuilds it. */
export default async function task(m: Req): Promise<Record<string, unknown>> {
  try {
    return await handle(m, () => {});
  } catch (e) {
    return { error: errorReply(e) };
  }
}
