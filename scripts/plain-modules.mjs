// Registers a module-load hook that hands h5wasm's prebuilt ES module to Node unchanged, ahead of
// tsx. Under tsx, every ES module passes through tsx's dynamic-import rewrite, which builds a
// source map for the whole file: for h5wasm's 4 MB single-line Emscripten bundle that is about
// 6 s of CPU and 600 MB of memory per process (0.15 s and a few MB without it), the hidden time
// in `reconstruct` (writing the .h5), `denoise` and `inspect` on HDF5 files. h5wasm needs no
// transform: it is plain JavaScript that Node loads as it is.
//
// Register it after tsx (hooks registered later run first):
//   node --import tsx --import ./scripts/plain-modules.mjs file.ts     (scripts/test.ts does)
//   scripts/nanodose.mjs registers it after tsx itself.
import { register } from 'node:module';
register('./plain-modules-hooks.mjs', import.meta.url);
