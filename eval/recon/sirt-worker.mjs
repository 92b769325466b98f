// Worker bootstrap for sirt-fast.ts: registers tsx in this thread, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';
register();
await import('./sirt-worker.ts');
