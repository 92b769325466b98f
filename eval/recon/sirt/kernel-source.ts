/**
 * The readable source of the WebAssembly SIRT kernel: sirt-kernel.wat, a WebAssembly text template
 * whose per-vector lines are unrolled for W lanes (the lane count is a compile-time constant so the
 * accumulators stay in locals), and its assembly with wabt (the WebAssembly Binary Toolkit, npm `wabt`,
 * a development dependency: the library loads the committed binaries of wasm-binaries.ts instead, so
 * 5 MB of assembler stay off its load path). `npm run build:wasm` regenerates wasm-binaries.ts;
 * wasm.test.ts checks that every committed binary is what this source assembles to.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../../../core/validate.ts';

/** Lane counts the kernel is built for: the even numbers 2 .. 64 (slices.ts: chunk in [1, 64], rounded up to even). */
export const SIRT_WASM_LANES: readonly number[] = Array.from({ length: 32 }, (_, i) => 2 * (i + 1));

const WAT_PATH = fileURLToPath(new URL('./sirt-kernel.wat', import.meta.url));

/** The kernel's WebAssembly text for W lanes: the template with its repeat blocks written W / 2 times. */
export function expandSirtKernel(W: number, template = readFileSync(WAT_PATH, 'utf8')): string {
  if (!Number.isInteger(W) || W < 2 || W % 2) throw new InternalError(`sirt wasm: lanes must be an even integer >= 2, got ${W}`);
  const V = W / 2, BP = 8 * W;
  const fill = (line: string, k: number): string => line
    .replaceAll('{k}', String(k)).replaceAll('{offBP}', String(BP + 16 * k)).replaceAll('{off}', String(16 * k))
    .replaceAll('{rowBytes}', String(8 * W)).replaceAll('{recBytes}', String(16 * W));
  const out: string[] = [];
  let block: string[] | null = null;
  for (const line of template.split('\n')) {
    const mark = line.trim();
    if (mark === ';; repeat k') { if (block) throw new InternalError('sirt-kernel.wat: nested repeat'); block = []; continue; }
    if (mark === ';; end repeat') {
      if (!block) throw new InternalError('sirt-kernel.wat: end repeat without repeat');
      for (let k = 0; k < V; k++) for (const l of block) out.push(fill(l, k));
      block = null;
      continue;
    }
    (block ?? out).push(block ? line : fill(line, 0));
  }
  if (block) throw new InternalError('sirt-kernel.wat: unterminated repeat');
  const left = out.find((l) => /\{(k|off|offBP|rowBytes|recBytes)\}/.test(l));
  if (left) throw new InternalError(`sirt-kernel.wat: placeholder outside a repeat block: ${left.trim()}`);
  return out.join('\n');
}

/** Assembles the kernel for W lanes with wabt (SIMD enabled, no name section). */
export async function assembleSirtKernel(W: number): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const m = wabt.parseWat(`sirt-kernel-${W}.wat`, expandSirtKernel(W), { simd: true });
  try {
    m.resolveNames();
    m.validate();
    return Uint8Array.from(m.toBinary({ write_debug_names: false, canonicalize_lebs: true }).buffer);
  } finally {
    m.destroy();
  }
}
