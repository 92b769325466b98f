// Module-load hook for scripts/plain-modules.mjs: files of these packages load as plain ES modules,
// never through the loaders registered before this one (tsx).
import { readFile } from 'node:fs/promises';

const PLAIN = /\/node_modules\/h5wasm\/dist\/[^?#]*\.js$/;

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && PLAIN.test(url)) {
    return { format: 'module', source: await readFile(new URL(url)), shortCircuit: true };
  }
  return nextLoad(url, context);
}
