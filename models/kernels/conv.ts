/**
 * Convolution gradients for the WebAssembly backend, built on its XNNPACK `Conv2D`.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` at all, and its `Conv2DBackpropInput` is a
 * naive loop (2.4-3.3 GFLOP/s measured in the issue, against 20-36 for XNNPACK convolutions). Both
 * gradients of y = conv(x, W) (NHWC, W [KH, KW, Ci, Co], stride s, zero padding pT/pL) are
 * themselves convolutions:
 *
 *   dW[kh, kw, ci, co] = sum_{b, oh, ow} x[b, oh*s + kh - pT, ow*s + kw - pL, ci] * dy[b, oh, ow, co]
 *     = conv(x', dy') with x' = x transposed to [Ci, H, W, B] (channels become the batch),
 *       dy' = dy transposed to [OH, OW, B, Co] (the gradient is the filter), dilation s, stride 1,
 *       padding (pT, pL) and bottom/right chosen so the output is KH x KW.
 *       (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning", section 4.)
 *
 *   dx[b, h, w, ci] = sum_{kh, kw, co} dy[b, (h + pT - kh)/s, (w + pL - kw)/s, co] W[kh, kw, ci, co]
 *     = stride 1: conv(dy, W~) with W~[kh, kw, co, ci] = W[KH-1-kh, KW-1-kw, ci, co] (flipped,
 *       in/out swapped) and padding (KH-1-pT, KW-1-pL);
 *     = kernel == stride (U-Net transposed-conv up), any padding: one matrix product per kernel
 *       row, dy [N*OH*OW, Co] x [Co, sW*Ci], whose rows are runs of output rows (transposed_conv.ts);
 *       the earlier 1x1 conv of dy to s*s*Ci channels + depth-to-space (copies.ts) is kept as 'conv';
 *     = otherwise: dy with s-1 zeros inserted between samples, then the stride-1 case.
 *
 * Every sub-step is a wasm kernel called through the kernel registry (`getKernel(name, 'wasm')`),
 * so no data leaves the WebAssembly heap. Intermediates are released with `backend.disposeData`.
 */
import * as tf from '@tensorflow/tfjs';
import { depthToSpaceWasm } from './copies.ts';
import { conv2DBackpropFilterGemm, type WasmHeapBackend } from './filter_grad.ts';
import { conv2DTransposeKernelEqStride } from './transposed_conv.ts';
import { InternalError } from '../../core/validate.ts';

type Info = tf.TensorInfo;
// The wasm backend type is not exported from the package root in a usable way; kernels only need
// disposeData and the registry, so a narrow structural type is enough.
interface WasmBackendLike {
  disposeData(dataId: unknown, force?: boolean): boolean;
}
type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

function call(name: string, backend: WasmBackendLike, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new InternalError(`wasm kernel ${name} is not registered`);
  return k.kernelFunc({ inputs, backend: backend as never, attrs: attrs as never }) as Info;
}
function free(backend: WasmBackendLike, ...infos: Info[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}
function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Padding and geometry of a forward conv as tfjs computes it (same rounding as the reference backends). */
function convInfo(xShape: number[], filterShape: number[], strides: number | [number, number], dilations: number | [number, number], pad: Pad, dimRoundingMode?: 'floor' | 'round' | 'ceil') {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad as never,
    dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * Conv2DBackpropFilter: dW from x and dy, as K-blocked XNNPACK matrix products (filter_grad.ts) or,
 * for deep levels and the 'swapped' method, as one XNNPACK convolution with batch and channel axes
 * swapped (stride becomes dilation). Correct for any stride, any padding (same/valid/explicit),
 * odd sizes; dilations must be 1 (tfjs itself only allows dilation 1 with the gradient).
 */
export function conv2DBackpropFilterWasm(args: { inputs: { x: Info; dy: Info }; backend: WasmBackendLike; attrs: Record<string, unknown> }): Info {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as {
    strides: number | [number, number];
    pad: Pad;
    dataFormat: string;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (dataFormat && dataFormat !== 'NHWC') throw new InternalError(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${dataFormat}`);
  const info = convInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
  const [KH, KW] = [info.filterHeight, info.filterWidth];
  const [sH, sW] = [info.strideHeight, info.strideWidth];
  const [H, W] = [x.shape[1], x.shape[2]];
  const [OH, OW] = [info.outHeight, info.outWidth];
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;
  // Deep levels (small spatial grid, many channels) are faster as the swapped conv (measured: 16x16
  // x 256 channels 23 vs 20 GFLOP/s); everything else as chunked products (1.2-2x, filter_grad.ts).
  const deepLevel = KH * KW * x.shape[3] >= 2048 && OH * OW <= 512;
  if (filterGradMethod === 'gemm' && !deepLevel) {
    const mm = tf.getKernel('BatchMatMul', 'wasm');
    if (!mm) throw new InternalError('wasm kernel BatchMatMul is not registered');
    const g = { N: x.shape[0], H, W, Ci: x.shape[3], OH, OW, Co: dy.shape[3], KH, KW, sH, sW, pT, pL };
    return conv2DBackpropFilterGemm(backend as unknown as WasmHeapBackend, x, dy, g, mm.kernelFunc);
  }
  // Output rows of the swapped conv: H + pT + pB - ((OH-1)*sH + 1) + 1 = KH.
  let pB = KH + (OH - 1) * sH - H - pT;
  let pR = KW + (OW - 1) * sW - W - pL;
  let xs = x;
  const temps: Info[] = [];
  if (pB < 0 || pR < 0) {
    // Trailing rows/columns the forward conv never read (valid padding, (H-KH) % s != 0): crop.
    const h = H + Math.min(0, pB);
    const w = W + Math.min(0, pR);
    xs = call('Slice', backend, { x }, { begin: [0, 0, 0, 0], size: [x.shape[0], h, w, x.shape[3]] });
    temps.push(xs);
    pB = Math.max(0, pB);
    pR = Math.max(0, pR);
  }
  const xT = call('Transpose', backend, { x: xs }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, B]
  const dyT = call('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, B, Co]
  const r = call('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [[0, 0], [pT, pB], [pL, pR], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [sH, sW],
    dimRoundingMode: undefined,
  }); // [Ci, KH, KW, Co]
  const out = call('Transpose', backend, { x: r }, { perm: [1, 2, 0, 3] }); // [KH, KW, Ci, Co]
  free(backend, xT, dyT, r, ...temps);
  return out;
}

/**
 * Formulation of Conv2DBackpropFilter: 'gemm' (default, K-blocked matrix products, filter_grad.ts)
 * or 'swapped' (one XNNPACK conv with batch and channel axes swapped; kept for A/B benchmarks).
 */
export type FilterGradMethod = 'gemm' | 'swapped';
let filterGradMethod: FilterGradMethod = 'gemm';
export function setFilterGradMethod(m: FilterGradMethod): void {
  filterGradMethod = m;
}
export function getFilterGradMethod(): FilterGradMethod {
  return filterGradMethod;
}

/**
 * Formulation of Conv2DBackpropInput when kernel = stride (transposed-conv up): 'gemm' (default, one
 * matrix product per kernel row + row copies, transposed_conv.ts) or 'conv' (1x1 XNNPACK conv +
 * depth-to-space; kept for A/B benchmarks).
 */
export type TransposedMethod = 'gemm' | 'conv';
let transposedMethod: TransposedMethod = 'gemm';
export function setTransposedMethod(m: TransposedMethod): void {
  transposedMethod = m;
}

let nativeBackpropInput: tf.KernelFunc | undefined;
/** Keeps the backend's own Conv2DBackpropInput for the rare cases the fast paths do not cover. */
export function setNativeConv2DBackpropInput(k: tf.KernelFunc | undefined): void {
  nativeBackpropInput = k;
}

/** Flipped, in/out-swapped filter: W~[kh, kw, co, ci] = W[KH-1-kh, KW-1-kw, ci, co]. */
function flippedFilter(backend: WasmBackendLike, filter: Info): Info {
  const rev = call('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const t = call('Transpose', backend, { x: rev }, { perm: [0, 1, 3, 2] });
  free(backend, rev);
  return t;
}

/**
 * Conv2DBackpropInput (also the forward pass of a transposed convolution) as XNNPACK convolutions:
 * stride 1 via the flipped filter; kernel == stride via one matrix product per kernel row
 * (transposed_conv.ts; or the earlier 1x1 conv + depth-to-space, 'conv'); other strides by zero
 * insertion. Falls back to the backend's own kernel only for exotic explicit
 * paddings larger than the kernel.
 */
export function conv2DBackpropInputWasm(args: { inputs: { dy: Info; filter: Info }; backend: WasmBackendLike; attrs: Record<string, unknown> }): Info {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as {
    strides: number | [number, number];
    pad: Pad;
    dataFormat: string;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  if (dataFormat && dataFormat !== 'NHWC') throw new InternalError(`Conv2DBackpropInput (wasm): only NHWC is supported, got ${dataFormat}`);
  const info = convInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode);
  const [KH, KW] = [info.filterHeight, info.filterWidth];
  const [sH, sW] = [info.strideHeight, info.strideWidth];
  const [B, H, W, Ci] = inputShape;
  const [OH, OW] = [info.outHeight, info.outWidth];
  const Co = filter.shape[3];
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;

  // Kernel == stride: each output pixel receives one tap. Default: one matrix product per kernel
  // row written out by whole output rows (transposed_conv.ts); 'conv' (kept for A/B benchmarks):
  // a 1x1 conv to s*s*Ci channels + depth-to-space, exact tiling only.
  if (KH === sH && KW === sW && sH * sW > 1 && pT >= 0 && pL >= 0 && transposedMethod === 'gemm') {
    const mm = tf.getKernel('BatchMatMul', 'wasm');
    if (!mm) throw new InternalError('wasm kernel BatchMatMul is not registered');
    const g = { N: B, H, W, Ci, OH, OW, Co, sH, sW, pT, pL };
    return conv2DTransposeKernelEqStride(backend as unknown as WasmHeapBackend, dy, filter, g, mm.kernelFunc);
  }
  if (KH === sH && KW === sW && pT === 0 && pL === 0 && OH * sH === H && OW * sW === W && sH > 1) {
    const ft = call('Transpose', backend, { x: filter }, { perm: [3, 0, 1, 2] }); // [Co, KH, KW, Ci]
    const f1 = call('Reshape', backend, { x: ft }, { shape: [1, 1, Co, KH * KW * Ci] });
    const c = call('Conv2D', backend, { x: dy, filter: f1 }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
    free(backend, ft, f1);
    const out = depthToSpaceWasm(backend as never, c, sH, sW);
    free(backend, c);
    return out;
  }

  // General case: zero-insert dy to ((OH-1)*sH + 1) rows, then a stride-1 full correlation.
  const upH = (OH - 1) * sH + 1;
  const upW = (OW - 1) * sW + 1;
  const qT = KH - 1 - pT;
  const qL = KW - 1 - pL;
  const qB = H + KH - 1 - upH - qT;
  const qR = W + KW - 1 - upW - qL;
  if (qT < 0 || qL < 0 || qB < 0 || qR < 0) {
    if (!nativeBackpropInput) throw new InternalError('Conv2DBackpropInput (wasm): padding larger than the kernel is not supported');
    return nativeBackpropInput({ inputs: inputs as never, backend: backend as never, attrs: attrs as never }) as Info;
  }
  const temps: Info[] = [];
  let up = dy;
  if (sH > 1 || sW > 1) {
    const d6 = call('Reshape', backend, { x: dy }, { shape: [B, OH, 1, OW, 1, Co] });
    const p6 = call('PadV2', backend, { x: d6 }, { paddings: [[0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0]], constantValue: 0 });
    const full = call('Reshape', backend, { x: p6 }, { shape: [B, OH * sH, OW * sW, Co] });
    temps.push(d6, p6, full);
    up = full;
  }
  // The zero-inserted tensor has (s-1) trailing zero rows beyond upH: fold them into the bottom pad.
  const extraH = up.shape[1] - upH;
  const extraW = up.shape[2] - upW;
  let bottom = qB - extraH;
  let right = qR - extraW;
  if (bottom < 0 || right < 0) {
    const sl = call('Slice', backend, { x: up }, { begin: [0, 0, 0, 0], size: [B, up.shape[1] + Math.min(0, bottom), up.shape[2] + Math.min(0, right), Co] });
    temps.push(sl);
    up = sl;
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  const wf = flippedFilter(backend, filter);
  const out = call('Conv2D', backend, { x: up, filter: wf }, {
    strides: [1, 1],
    pad: [[0, 0], [qT, bottom], [qL, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [1, 1],
  });
  free(backend, wf, ...temps);
  return out;
}

export { pair };
