/**
 * Assembles eval/recon/sirt/sirt-kernel.wat with wabt for every lane count (kernel-source.ts) and writes
 * eval/recon/sirt/wasm-binaries.ts: the modules concatenated, deflated and base64-encoded, with each
 * one's byte range; and eval/recon/joint/fgp-kernel.wat (the TV prox's FGP iteration) into
 * eval/recon/joint/fgp-wasm-binary.ts. Run after editing either .wat:
 *
 *   npm run build:wasm
 *
 * wasm.test.ts and fgp-wasm.test.ts fail while a committed file differs from what its .wat assembles to.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assembleSirtKernel, SIRT_WASM_LANES } from '../eval/recon/sirt/kernel-source.ts';
import { encodeSirtBinaries } from '../eval/recon/sirt/binaries.ts';
import { assembleFgpKernel, encodeFgpBinary } from '../eval/recon/joint/fgp-wasm.ts';

const modules = new Map<number, Uint8Array>();
for (const W of SIRT_WASM_LANES) modules.set(W, await assembleSirtKernel(W));
const out = fileURLToPath(new URL('../eval/recon/sirt/wasm-binaries.ts', import.meta.url));
writeFileSync(`${out}.tmp`, encodeSirtBinaries(modules));
renameSync(`${out}.tmp`, out);
let bytes = 0;
for (const m of modules.values()) bytes += m.length;
console.log(`wrote ${out}: ${modules.size} modules, ${bytes} bytes before compression`);

const fgp = await assembleFgpKernel();
const fgpOut = fileURLToPath(new URL('../eval/recon/joint/fgp-wasm-binary.ts', import.meta.url));
writeFileSync(`${fgpOut}.tmp`, encodeFgpBinary(fgp));
renameSync(`${fgpOut}.tmp`, fgpOut);
console.log(`wrote ${fgpOut}: ${fgp.length} bytes`);
