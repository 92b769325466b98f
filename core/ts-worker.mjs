// Bootstrap of every TypeScript worker (core/pool.ts: SharedPool with { module }, piscina via taskQueue).
// workerData.tsWorker = { module, preload }: the preload modules are imported before tsx is registered
// (h5wasm is 4 MB; through tsx's transform it costs seconds per thread), then the module itself. The
// parent starts this without its own `--import tsx` (workerExecArgv), so the order holds. The module's
// default export, if any, is this file's: piscina calls it for each task.
import { workerData } from 'node:worker_threads';

const { module, preload } = workerData.tsWorker;
for (const m of preload) await import(m);
const { register } = await import('tsx/esm/api');
register();
const mod = await import(module);
export default mod.default;
