/** One SIRT worker: runs sirtSliceRange on its slice block of the shared tilt series and volume. */
import { parentPort, workerData } from 'node:worker_threads';
import { sirtSliceRange } from './sirt-fast.ts';

const { m, R, C, b, x, o } = workerData;
sirtSliceRange(m, { R, C }, b, x, o, (n) => parentPort!.postMessage({ tick: n }));
parentPort!.postMessage({ done: true });
