// Bootstrap for the dataset-generation worker. h5wasm is imported before tsx is registered: under
// tsx its 4 MB module goes through tsx's dynamic-import transform, which costs seconds per thread.
// The worker is started without the parent's `--import tsx` (see generate.ts), so this order holds.
// The same URL as datasets/emd.ts H5WASM_URL, so the module loaded here is the one h5ready uses.
await import(`${import.meta.resolve('h5wasm/node')}?tsx-namespace=nanodose-untransformed`);
const { register } = await import('tsx/esm/api');
register();
await import('./generate-worker.ts');
