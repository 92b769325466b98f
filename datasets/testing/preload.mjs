// Test entry that loads h5wasm before registering tsx (under tsx, h5wasm's 4 MB module takes
// seconds to load through tsx's dynamic-import transform), then runs the TypeScript module given
// as the first argument with the remaining arguments:  node preload.mjs <module.ts> args...
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
// The same URL as datasets/emd.ts H5WASM_URL, so the module loaded here is the one h5ready uses.
await import(`${import.meta.resolve('h5wasm/node')}?tsx-namespace=nanodose-untransformed`);
const { register } = await import('tsx/esm/api');
register();
const target = process.argv[2];
process.argv.splice(1, 1); // argv[1] becomes the target module, as if it were run directly
await import(pathToFileURL(resolve(target)).href);
