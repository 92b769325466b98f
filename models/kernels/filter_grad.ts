/**
 * Conv2DBackpropFilter for the WebAssembly backend as K-blocked XNNPACK matrix products.
 *
 * The weight gradient of y = conv(x, W) (NHWC, W [KH, KW, Ci, Co], stride (sH, sW), zero padding
 * pT/pL, dilation 1) is a sum over every output pixel p = (n, oh, ow):
 *
 *   dW[kh, kw, ci, co] = sum_p x[n, oh*sH + kh - pT, ow*sW + kw - pL, ci] * dy[n, oh, ow, co]
 *
 * a product dW = X_im2col^T dy of [KH*KW*Ci x P] by [P x Co] with a reduction length P = N*OH*OW of
 * up to 262 144 (default U-Net, level 0). Written as one XNNPACK convolution with batch and channel
 * axes swapped (the previous formulation, kept in `conv.ts` as 'swapped'), the packed "filter" (all
 * of dy) is streamed from memory once per 4-row block of the output: 11-14 GFLOP/s. Here:
 *
 *   - a grid of Hg x Wg positions per image, Hg = OH + floor((KH-1)/sH), Wg = OW + floor((KW-1)/sW),
 *     position q = (n*Hg + i)*Wg + j;
 *   - D = dy on the grid, row-major [q][co] (zero where i >= OH or j >= OW; dy itself when the grid
 *     is dy's own, 1x1 or kernel == stride);
 *   - the stride phases of x on the same grid, channel-major: XT_ab[ci][q] = x[n, i*sH + a - pT,
 *     j*sW + b - pL, ci] (zero outside x), a = kh mod sH, b = kw mod sW. Tap (kh, kw) reads XT_ab at
 *     q + floor(kh/sH)*Wg + floor(kw/sW): a contiguous run per channel. dy entries that would read
 *     across a row or image boundary are D's zero padding.
 *   - the reduction is cut into chunks of Kc grid positions. Per chunk c one XNNPACK fully-connected
 *     product (the wasm BatchMatMul kernel) A_c [KH*KW*Ci x Kc] x D_c [Kc x Co], where A_c is
 *     gathered from XT with one contiguous copy of Kc floats per (tap, ci) and D_c is a zero-copy view
 *     of D. XNNPACK packs its B operand on every call, which costs about as much as a 32-row product:
 *     so the big operand with KH*KW*Ci rows is A (never packed) and the packed B chunk (~2 MiB) stays
 *     in L2 across the row blocks. Chunk results are summed in float64; the result rows are already
 *     dW's [kh, kw, ci] order.
 *
 * Correct for any stride, padding (same, valid, explicit) and odd size: the grid and the phases are
 * exact index maps of the formula above, not a special case per configuration.
 * (Chellapilla, Puri & Simard 2006, "High performance convolutional neural networks for document
 * processing" for convolutions as matrix products; Goto & van de Geijn 2008, "Anatomy of
 * high-performance matrix multiplication" for blocking the reduction to fit the cache.)
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
/** The parts of tfjs-backend-wasm's BackendWasm used here (structural: the class is not exported usefully). */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: unknown, force?: boolean): boolean;
  dataIdMap: { get(dataId: unknown): { id: number; memoryOffset: number }; delete(dataId: unknown): void };
  wasm: { tfjs: { disposeData(id: number): void } };
}

/** A float32 tensor aliasing `length` floats of `parent` from float offset `offset` (no copy). */
function view(backend: WasmHeapBackend, parent: Info, offset: number, shape: number[]): Info {
  const base = backend.dataIdMap.get(parent.dataId).memoryOffset;
  return backend.makeOutput(shape, 'float32', base + 4 * offset);
}
/** Releases a view: unregisters it from the C side (and its cached XNNPACK operators) without freeing the memory. */
function dropView(backend: WasmHeapBackend, v: Info): void {
  backend.wasm.tfjs.disposeData(backend.dataIdMap.get(v.dataId).id);
  backend.dataIdMap.delete(v.dataId);
}
function f32(backend: WasmHeapBackend, t: Info): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * A strided 2-D convolution's shape, NHWC: x [N, H, W, Ci] -> y [N, OH, OW, Co] with strides sH, sW and
 * top/left padding pT, pL. Shared by the filter gradient (here) and the transposed convolution
 * (transposed_conv.ts, where x is the output dx and y the input dy).
 */
export interface ConvGeometry {
  N: number;
  /** x's rows, columns and channels */
  H: number;
  W: number;
  Ci: number;
  /** y's rows, columns and channels */
  OH: number;
  OW: number;
  Co: number;
  sH: number;
  sW: number;
  pT: number;
  pL: number;
}

/** The filter gradient's geometry: the convolution's and the kernel's KH x KW. */
export interface FilterGradGeometry extends ConvGeometry {
  KH: number;
  KW: number;
}

/** Default cap of the reduction chunk (see `chunking`). */
export const DEFAULT_FILTER_GRAD_CHUNK_CAP = 2048;
let chunkCap = DEFAULT_FILTER_GRAD_CHUNK_CAP;
/**
 * Caps the reduction chunk (tests force many chunks, with boundaries inside grid rows, on small
 * inputs; the benchmark compares the previous cap of 16384 with the default).
 */
export function setFilterGradChunkCap(n: number): void {
  chunkCap = Math.max(4, Math.floor(n));
}

/**
 * Reduction chunk Kc: XNNPACK packs the B chunk (Kc x n) once per product and re-reads it for every
 * row block of A; its microkernel runs the whole reduction for each mr x nr tile (no K blocking), so
 * the A micro-panel (mr x Kc floats) and the packed B chunk must stay in L1 and L2. Kc <= 2048 keeps
 * an A micro-panel at ~48 KiB (the L1 of the Xeon measured) and B at <= 1 MiB (its L2 is 2 MiB per
 * core): 1.15-1.2x at the level-0 shapes over the earlier cap of 16384 (B chunk 2 MiB), equal
 * elsewhere (scripts/bench/models.bench.ts). At least 256; the chunks of one call of equal size (a
 * multiple of 4).
 */
function chunking(G: number, n: number): { Kc: number; nChunks: number } {
  let k0 = 1 << Math.floor(Math.log2(Math.max(1, 524288 / n)));
  k0 = Math.min(chunkCap, 16384, Math.max(256, k0));
  const nChunks = Math.max(1, Math.ceil(G / k0));
  const Kc = Math.ceil(G / nChunks / 4) * 4;
  return { Kc, nChunks };
}

/**
 * dW [KH, KW, Ci, Co] from x [N, H, W, Ci] and dy [N, OH, OW, Co] (see the module comment).
 * `matMul` is the wasm BatchMatMul kernel function.
 */
export function conv2DBackpropFilterGemm(backend: WasmHeapBackend, x: Info, dy: Info, g: FilterGradGeometry, matMul: tf.KernelFunc): Info {
  const { N, H, W, Ci, OH, OW, Co, KH, KW, sH, sW, pT, pL } = g;
  const dhMax = Math.floor((KH - 1) / sH);
  const dwMax = Math.floor((KW - 1) / sW);
  const Hg = OH + dhMax;
  const Wg = OW + dwMax;
  const G = N * Hg * Wg;
  const maxOff = dhMax * Wg + dwMax;
  const taps = KH * KW;
  const M = taps * Ci; // rows of one product: (kh, kw, ci), the layout of dW
  const { Kc, nChunks } = chunking(G, Co);
  const rowsT = nChunks * Kc;
  const nPh = sH * sW;
  const rowsX = rowsT + maxOff; // every tap's run [c*Kc + off, +Kc) stays inside
  const dyIsGrid = Hg === OH && Wg === OW;

  // ---- allocate (all before taking typed-array views: malloc may grow and detach the heap) ----
  const phases: Info[] = [];
  for (let p = 0; p < nPh; p++) phases.push(backend.makeOutput([Ci * rowsX], 'float32'));
  const D = backend.makeOutput([rowsT * Co], 'float32');
  const A = backend.makeOutput([1, M, Kc], 'float32');

  // ---- D: dy on the grid, row-major [q][co], zero outside dy ----
  {
    const dd = f32(backend, D);
    const d = f32(backend, dy);
    if (dyIsGrid) {
      dd.set(d);
      dd.fill(0, d.length);
    } else {
      dd.fill(0);
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < OH; i++) {
          const s = (n * OH + i) * OW * Co;
          dd.set(d.subarray(s, s + OW * Co), (n * Hg + i) * Wg * Co);
        }
      }
    }
  }
  // ---- XT_ab: stride phases of x on the grid, channel-major [ci][q], zero outside x ----
  {
    const xs = f32(backend, x);
    for (let a = 0; a < sH; a++) {
      for (let b = 0; b < sW; b++) {
        const r = f32(backend, phases[a * sW + b]);
        r.fill(0);
        // columns j with 0 <= j*sW + b - pL < W
        const jLo = Math.max(0, Math.ceil((pL - b) / sW));
        const jHi = Math.min(Wg - 1, Math.floor((W - 1 + pL - b) / sW));
        if (jHi < jLo) continue;
        const len = jHi - jLo + 1;
        const step = sW * Ci;
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < Hg; i++) {
            const xr = i * sH + a - pT;
            if (xr < 0 || xr >= H) continue;
            const q = (n * Hg + i) * Wg + jLo;
            const src = ((n * H + xr) * W + jLo * sW + b - pL) * Ci;
            // Blocks of 8 pixels x all channels (8 sequential reads of x per channel, 8 consecutive
            // writes per channel row): ~2x the plain per-channel strided loop.
            const len8 = len & ~7;
            for (let u0 = 0; u0 < len8; u0 += 8) {
              for (let ci = 0, o = q + u0; ci < Ci; ci++, o += rowsX) {
                const sI = src + u0 * step + ci;
                r[o] = xs[sI];
                r[o + 1] = xs[sI + step];
                r[o + 2] = xs[sI + 2 * step];
                r[o + 3] = xs[sI + 3 * step];
                r[o + 4] = xs[sI + 4 * step];
                r[o + 5] = xs[sI + 5 * step];
                r[o + 6] = xs[sI + 6 * step];
                r[o + 7] = xs[sI + 7 * step];
              }
            }
            for (let ci = 0; ci < Ci; ci++) {
              const o = ci * rowsX + q;
              for (let u = len8, sI = src + ci + len8 * step; u < len; u++, sI += step) r[o + u] = xs[sI];
            }
          }
        }
      }
    }
  }

  // ---- one product per chunk: A [(kh, kw, ci), k] = XT_ab[ci][c*Kc + off(kh, kw) + k] ----
  const acc = new Float64Array(M * Co);
  const attrs = { transposeA: false, transposeB: false };
  for (let c = 0; c < nChunks; c++) {
    {
      const aa = f32(backend, A);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const r = f32(backend, phases[(kh % sH) * sW + (kw % sW)]);
          const off = c * Kc + Math.floor(kh / sH) * Wg + Math.floor(kw / sW);
          const rowBase = (kh * KW + kw) * Ci;
          for (let ci = 0; ci < Ci; ci++) {
            const s = ci * rowsX + off;
            aa.set(r.subarray(s, s + Kc), (rowBase + ci) * Kc);
          }
        }
      }
    }
    const Bv = view(backend, D, c * Kc * Co, [1, Kc, Co]);
    const out = matMul({ inputs: { a: A, b: Bv }, backend: backend as never, attrs: attrs as never }) as Info;
    const o = f32(backend, out);
    for (let e = 0; e < M * Co; e++) acc[e] += o[e];
    backend.disposeData(out.dataId);
    dropView(backend, Bv);
  }
  for (const p of phases) backend.disposeData(p.dataId);
  backend.disposeData(D.dataId);
  backend.disposeData(A.dataId);

  // acc is [(kh, kw, ci), co]: already the layout of dW
  const dW = backend.makeOutput([KH, KW, Ci, Co], 'float32');
  const w = f32(backend, dW);
  for (let e = 0; e < M * Co; e++) w[e] = acc[e];
  return dW;
}
