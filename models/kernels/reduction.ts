/**
 * Fast paths for two small kernels of U-Net training on the WebAssembly backend:
 *
 * Sum over leading axes (the bias gradient of every convolution: sum of dy over batch, rows and
 * columns, per channel). The stock wasm Sum first transposes the reduced axes to the end; here
 * the input is read once as [rows, C] and accumulated per channel in float64:
 *   out[c] = sum_r x[r, c].
 *
 * MaxPoolGrad for 2x2 windows with stride 2, no top/left padding (valid, or 'same' whose odd sizes
 * pad one row/column at the bottom/right) (the U-Net's down-sampling): each dy
 * value goes to the first maximum of its window in row-major order (the tie rule of the reference
 * backends):  dx[b, 2i+u, 2j+v, c] = dy[b, i, j, c] if (u, v) = argmax_window x, else 0.
 * Other windows, strides and paddings: a general loop with the same rule (maxPoolGradGeneral).
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
}

let nativeSum: tf.KernelFunc | undefined;
let nativeMaxPoolGrad: tf.KernelFunc | undefined;
export function setNativeReductions(sum: tf.KernelFunc | undefined, maxPoolGrad: tf.KernelFunc | undefined): void {
  nativeSum = sum;
  nativeMaxPoolGrad = maxPoolGrad;
}

export function sumWasm(args: { inputs: { x: Info }; backend: WasmBackendLike; attrs: { axis: number | number[]; keepDims: boolean } }): Info {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const prefix = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !prefix) return nativeSum!(args as never) as Info;
  const inner = x.shape.slice(axes.length);
  const C = tf.util.sizeFromShape(inner);
  const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, C);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : inner;
  const out = backend.makeOutput(outShape, 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(C);
  for (let r = 0, o = 0; r < rows; r++, o += C) for (let c = 0; c < C; c++) acc[c] += src[o + c];
  dst.set(acc);
  return out;
}

export function maxPoolGradWasm(args: { inputs: { dy: Info; input: Info; output: Info }; backend: WasmBackendLike; attrs: Record<string, unknown> }): Info {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const fast =
    input.dtype === 'float32' &&
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight * 2 <= info.inHeight + 1 &&
    info.outWidth * 2 <= info.inWidth + 1;
  if (input.dtype !== 'float32') return nativeMaxPoolGrad!(args as never) as Info;
  if (!fast) return maxPoolGradGeneral(backend, dy, input, info);
  const [B, H, W, C] = input.shape;
  const OH = info.outHeight;
  const OW = info.outWidth;
  const out = backend.makeOutput(input.shape, 'float32');
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const row = W * C;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      const r0 = (b * H + 2 * i) * row;
      const hasR1 = 2 * i + 1 < H; // 'same' padding of an odd height: the last window has one row
      const r1 = r0 + row;
      const gRow = (b * OH + i) * OW * C;
      for (let j = 0; j < OW; j++) {
        const c0 = r0 + 2 * j * C;
        const c1 = r1 + 2 * j * C;
        const hasC1 = 2 * j + 1 < W;
        const gj = gRow + j * C;
        for (let c = 0; c < C; c++) {
          // Window in row-major order: (0,0), (0,1), (1,0), (1,1); first maximum wins (strict >).
          let best = c0 + c;
          let m = x[best];
          if (hasC1) {
            const p1 = c0 + C + c;
            if (x[p1] > m) {
              m = x[p1];
              best = p1;
            }
          }
          if (hasR1) {
            const p2 = c1 + c;
            if (x[p2] > m) {
              m = x[p2];
              best = p2;
            }
            if (hasC1) {
              const p3 = c1 + C + c;
              if (x[p3] > m) best = p3;
            }
          }
          dx[best] += g[gj + c];
        }
      }
    }
  }
  return out;
}

/**
 * Any window, stride, dilation and padding: dy goes to the first maximum of the window in row-major
 * order, padding counting as -infinity (the rule of the reference cpu backend and TensorFlow; the
 * stock wasm kernel breaks ties differently).
 */
function maxPoolGradGeneral(backend: WasmBackendLike, dy: Info, input: Info, info: tf.backend_util.Conv2DInfo): Info {
  const [B, H, W, C] = input.shape;
  const { outHeight: OH, outWidth: OW, strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW, effectiveFilterHeight: fH, effectiveFilterWidth: fW } = info;
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;
  const out = backend.makeOutput(input.shape, 'float32');
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      const r0 = i * sH - pT;
      for (let j = 0; j < OW; j++) {
        const q0 = j * sW - pL;
        const gj = ((b * OH + i) * OW + j) * C;
        for (let c = 0; c < C; c++) {
          let best = -1;
          let m = -Infinity;
          for (let u = 0; u < fH; u += dH) {
            const r = r0 + u;
            if (r < 0 || r >= H) continue;
            for (let v = 0; v < fW; v += dW) {
              const q = q0 + v;
              if (q < 0 || q >= W) continue;
              const p = ((b * H + r) * W + q) * C + c;
              if (x[p] > m || best < 0) {
                m = x[p];
                best = p;
              }
            }
          }
          if (best >= 0) dx[best] += g[gj + c];
        }
      }
    }
  }
  return out;
}
