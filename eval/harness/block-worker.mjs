// Bootstrap for the evaluation's block worker: registers tsx in this thread, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';
register();
await import('./block-worker.ts');
