// Bootstrap for the dataset-generation worker. h5wasm is imported before tsx is registered: under
// tsx its 4 MB module goes through tsx's dynamic-import transform, which costs seconds per thread.
// The worker is started without the parent's `--import tsx` (see generate.ts), so this order holds.
await import('h5wasm/node');
const { register } = await import('tsx/esm/api');
register();
await import('./generate-worker.ts');
