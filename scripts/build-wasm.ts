/**
 * Assembles eval/recon/sirt/sirt-kernel.wat with wabt for every lane count (kernel-source.ts) and writes
 * eval/recon/sirt/wasm-binaries.ts: the modules concatenated, deflated and base64-encoded, with each
 * one's byte range. Run after editing the .wat:
 *
 *   npm run build:wasm
 *
 * wasm.test.ts fails while the committed file differs from what the .wat assembles to.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assembleSirtKernel, SIRT_WASM_LANES } from '../eval/recon/sirt/kernel-source.ts';
import { encodeSirtBinaries } from '../eval/recon/sirt/binaries.ts';

const modules = new Map<number, Uint8Array>();
for (const W of SIRT_WASM_LANES) modules.set(W, await assembleSirtKernel(W));
const out = fileURLToPath(new URL('../eval/recon/sirt/wasm-binaries.ts', import.meta.url));
writeFileSync(`${out}.tmp`, encodeSirtBinaries(modules));
renameSync(`${out}.tmp`, out);
let bytes = 0;
for (const m of modules.values()) bytes += m.length;
console.log(`wrote ${out}: ${modules.size} modules, ${bytes} bytes before compression`);
