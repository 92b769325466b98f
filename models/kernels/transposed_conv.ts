/**
 * Transposed convolution with kernel = stride (U-Net 2x2 stride-2 up) for the WebAssembly backend:
 * Conv2DBackpropInput when every output pixel receives exactly one tap.
 *
 * With dy [N, OH, OW, Co], W [sH, sW, Ci, Co] (kernel = stride) and padding pT, pL >= 0, the
 * transposed convolution (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep
 * learning", section 4.5: a stride-s transposed conv whose kernel is s is a sub-pixel
 * convolution, Shi et al. 2016) is
 *
 *   dx[n, hh, ww, ci] = sum_co dy[n, h, w, co] W[i, j, ci, co],  hh + pT = h*sH + i,  ww + pL = w*sW + j,
 *
 * with 0 <= i < sH, 0 <= j < sW (each output pixel has one (h, w, i, j); none when h >= OH or
 * w >= OW: zero). For a fixed kernel row i this is one matrix product
 *
 *   R_i [N*OH*OW, sW*Ci] = dy as [N*OH*OW, Co] x B_i [Co, sW*Ci],   B_i[co, j*Ci + ci] = W[i, j, ci, co],
 *
 * and the row R_i[(n, h, w), :] for w = 0..OW-1 is exactly output row hh = h*sH + i - pT of image n,
 * columns w*sW + j - pL: one contiguous run of OW*sW*Ci floats, shifted by pL*Ci and cropped to
 * [0, W*Ci). So the "depth-to-space" is one memmove per output row (N*H calls of ~W*Ci floats,
 * `copyWithin` inside the wasm heap), not one per pixel.
 *
 * The products are XNNPACK fully-connected calls (the wasm BatchMatMul kernel) with dy, the large
 * operand, as A: a zero-copy reshape, never packed. XNNPACK packs B (Co x sW*Ci, at most 256 x 256
 * floats in a U-Net) once per call; it changes every training step anyway.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry, WasmHeapBackend } from './filter_grad.ts';
import { InternalError } from '../../core/validate.ts';

type Info = tf.TensorInfo;

/** The transposed convolution's geometry: H, W, Ci are the output's (dx), OH, OW, Co the input's (dy); the kernel equals the stride. */
export type TransposedGeometry = ConvGeometry;

interface HeapBackend extends WasmHeapBackend {
  wasm: WasmHeapBackend['wasm'] & { HEAPU8: Uint8Array };
}

/** dx [N, H, W, Ci] of a kernel = stride transposed convolution (see the module comment). */
export function conv2DTransposeKernelEqStride(backend: WasmHeapBackend, dy: Info, filter: Info, g: TransposedGeometry, matMul: tf.KernelFunc): Info {
  const be = backend as HeapBackend;
  const { N, H, W, Ci, OH, OW, Co, sH, pT, pL } = g;
  if (pT < 0 || pL < 0) throw new InternalError('conv2DTransposeKernelEqStride: negative padding');
  const M = N * OH * OW;
  const out = be.makeOutput([N, H, W, Ci], 'float32');
  const a = be.makeOutput([1, M, Co], 'float32', be.dataIdMap.get(dy.dataId).memoryOffset); // view of dy
  try {
    if (rowsPerProduct === 'all') writeAllRows(be, a, filter, out, g, matMul);
    else {
      for (let i = 0; i < sH; i++) writeKernelRow(be, a, filter, out, g, i, matMul);
    }
  } finally {
    be.wasm.tfjs.disposeData(be.dataIdMap.get(a.dataId).id);
    be.dataIdMap.delete(a.dataId);
  }
  return out;
}

/**
 * Products per call: 'row' (default) one product per kernel row i, output written by whole rows;
 * 'all' one product [N*OH*OW, sH*sW*Ci] for every kernel row, written by runs of sW*Ci floats.
 */
export type TransposedSplit = 'row' | 'all';
let rowsPerProduct: TransposedSplit = 'row';
export function setTransposedSplit(m: TransposedSplit): void {
  rowsPerProduct = m;
}

/** B [Co, (i, j, ci) for i in rows] with B[co, ((i - i0)*sW + j)*Ci + ci] = W[i, j, ci, co]. */
function packFilter(be: HeapBackend, filter: Info, g: TransposedGeometry, i0: number, i1: number): Info {
  const { Ci, Co, sW } = g;
  const len = (i1 - i0) * sW * Ci;
  const Bm = be.makeOutput([1, Co, len], 'float32');
  const b = be.typedArrayFromHeap(Bm) as Float32Array;
  const w = be.typedArrayFromHeap(filter) as Float32Array; // [sH, sW, Ci, Co], taken after makeOutput (which may grow the heap)
  for (let i = i0; i < i1; i++) {
    for (let j = 0; j < sW; j++) {
      for (let ci = 0; ci < Ci; ci++) {
        const src = ((i * sW + j) * Ci + ci) * Co;
        const col = ((i - i0) * sW + j) * Ci + ci;
        for (let co = 0; co < Co; co++) b[co * len + col] = w[src + co];
      }
    }
  }
  return Bm;
}

function product(be: HeapBackend, a: Info, Bm: Info, matMul: tf.KernelFunc): Info {
  const R = matMul({ inputs: { a, b: Bm }, backend: be as never, attrs: { transposeA: false, transposeB: false } as never }) as Info;
  be.disposeData(Bm.dataId);
  return R;
}

function writeKernelRow(be: HeapBackend, a: Info, filter: Info, out: Info, g: TransposedGeometry, i: number, matMul: tf.KernelFunc): void {
  const { N, H, W, Ci, OH, OW, sH, sW, pT, pL } = g;
  const rowLen = sW * Ci; // one matrix-product row: (j, ci)
  // Output columns covered by a row of R: ww = w*sW + j - pL for w < OW, inside [0, W).
  const copyLen = Math.max(0, Math.min(W, OW * sW - pL)) * Ci;
  const R = product(be, a, packFilter(be, filter, g, i, i + 1), matMul);
  const heap = new Float32Array(be.wasm.HEAPU8.buffer);
  const r0 = be.dataIdMap.get(R.dataId).memoryOffset >> 2;
  const o0 = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
  // Output rows hh with (hh + pT) mod sH == i.
  const hh0 = (((i - pT) % sH) + sH) % sH;
  for (let n = 0; n < N; n++) {
    for (let hh = hh0; hh < H; hh += sH) {
      const h = (hh + pT - i) / sH;
      const d = o0 + (n * H + hh) * W * Ci;
      if (h >= OH) {
        heap.fill(0, d, d + W * Ci);
        continue;
      }
      const s = r0 + (n * OH + h) * OW * rowLen + pL * Ci;
      heap.copyWithin(d, s, s + copyLen);
      if (copyLen < W * Ci) heap.fill(0, d + copyLen, d + W * Ci);
    }
  }
  be.disposeData(R.dataId);
}

function writeAllRows(be: HeapBackend, a: Info, filter: Info, out: Info, g: TransposedGeometry, matMul: tf.KernelFunc): void {
  const { N, H, W, Ci, OH, OW, sH, sW, pT, pL } = g;
  const run = sW * Ci;
  const pix = sH * run; // one matrix-product row: (i, j, ci)
  const R = product(be, a, packFilter(be, filter, g, 0, sH), matMul);
  const heap = new Float32Array(be.wasm.HEAPU8.buffer);
  const r0 = be.dataIdMap.get(R.dataId).memoryOffset >> 2;
  const o0 = be.dataIdMap.get(out.dataId).memoryOffset >> 2;
  // Columns: block w covers ww in [w*sW - pL, (w+1)*sW - pL); whole blocks for w in [wLo, wHi).
  const wLo = Math.ceil(pL / sW);
  const wHi = Math.min(OW, Math.floor((W + pL) / sW));
  for (let n = 0; n < N; n++) {
    for (let hh = 0; hh < H; hh++) {
      const t = hh + pT;
      const h = Math.floor(t / sH);
      const i = t - h * sH;
      const d = o0 + (n * H + hh) * W * Ci;
      if (h >= OH) {
        heap.fill(0, d, d + W * Ci);
        continue;
      }
      const srow = r0 + (n * OH + h) * OW * pix + i * run;
      // Partial blocks at the edges and uncovered columns element by element; whole blocks as runs.
      for (let ww = 0; ww < W; ww++) {
        const w = Math.floor((ww + pL) / sW);
        if (w >= wLo && w < wHi) {
          ww = w * sW - pL + sW - 1;
          continue;
        }
        const j = ww + pL - w * sW;
        const o = d + ww * Ci;
        if (w >= OW) heap.fill(0, o, o + Ci);
        else heap.copyWithin(o, srow + w * pix + j * Ci, srow + w * pix + (j + 1) * Ci);
      }
      let o = d + (wLo * sW - pL) * Ci;
      for (let w = wLo, s = srow + wLo * pix; w < wHi; w++, s += pix, o += run) {
        if (run < 64) for (let k = 0; k < run; k++) heap[o + k] = heap[s + k];
        else heap.copyWithin(o, s, s + run);
      }
    }
  }
  be.disposeData(R.dataId);
}
