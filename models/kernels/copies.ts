/**
 * Fast Slice / SplitV for the WebAssembly backend.
 *
 * The gradient of `concatenate` (U-Net skip connections) splits a tensor along the channel axis.
 * tfjs-backend-wasm 4.22 copies such a slice with one `TypedArray.set(subarray)` call per pixel
 * (B*H*W calls of C floats each), which costs hundreds of ms per U-Net step. Here a slice is
 * reduced to its outermost sliced axis: everything inside is one contiguous run of `run` floats per
 * outer index; runs shorter than 64 floats are copied with a plain loop, longer ones with `set`.
 * float32 / int32 / bool only; strings go to the backend's own kernel.
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
}

/** Copies x[begin : begin+size] into `out` (same dtype). */
function copySlice(x: Info, begin: number[], size: number[], backend: WasmBackendLike, out: Info): void {
  const shape = x.shape;
  const rank = shape.length;
  // Collapse trailing axes that are taken whole into one contiguous run.
  let a = rank - 1;
  let run = 1;
  while (a >= 0 && begin[a] === 0 && size[a] === shape[a]) {
    run *= shape[a];
    a--;
  }
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  if (a < 0) {
    dst.set(src.subarray(0, run));
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  // Innermost sliced axis a: a run of size[a] * run floats starting at begin[a] * strides[a].
  const len = size[a] * run;
  const idx = new Array<number>(a).fill(0); // odometer over axes 0..a-1
  let nOuter = 1;
  for (let i = 0; i < a; i++) nOuter *= size[i];
  let o = 0;
  for (let n = 0; n < nOuter; n++) {
    let s = begin[a] * strides[a];
    for (let i = 0; i < a; i++) s += (begin[i] + idx[i]) * strides[i];
    if (len < 64) {
      for (let k = 0; k < len; k++) dst[o + k] = src[s + k];
    } else {
      dst.set(src.subarray(s, s + len), o);
    }
    o += len;
    for (let i = a - 1; i >= 0; i--) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
}

let nativeSlice: tf.KernelFunc | undefined;
let nativeSplitV: tf.KernelFunc | undefined;
export function setNativeCopies(slice: tf.KernelFunc | undefined, splitV: tf.KernelFunc | undefined): void {
  nativeSlice = slice;
  nativeSplitV = splitV;
}

export function sliceWasm(args: { inputs: { x: Info }; backend: WasmBackendLike; attrs: { begin: number | number[]; size?: number | number[] } }): Info {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  if (x.dtype === 'string') return nativeSlice!(args as never) as Info;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) > 0) copySlice(x, begin, size, backend, out);
  return out;
}

export function splitVWasm(args: { inputs: { x: Info }; backend: WasmBackendLike; attrs: { numOrSizeSplits: number | number[]; axis: number | number[] } }): Info[] {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  if (x.dtype === 'string') return nativeSplitV!(args as never) as Info[];
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const out = backend.makeOutput(size, x.dtype);
    if (tf.util.sizeFromShape(size) > 0) copySlice(x, [...begin], size, backend, out);
    begin[axis] += s;
    return out;
  });
}

/**
 * Depth-to-space (NHWC, block sH x sW) by contiguous runs of C floats: out[b, h*sH + i, w*sW + j, c]
 * = x[b, h, w, (i*sW + j)*C + c]. The stock wasm DepthToSpace moves one float at a time (~0.4 s
 * for a 16x128x128x32 U-Net level); this copies runs of C.
 */
export function depthToSpaceWasm(backend: WasmBackendLike, x: Info, sH: number, sW: number): Info {
  const [B, H, W, CC] = x.shape;
  const C = CC / (sH * sW);
  const out = backend.makeOutput([B, H * sH, W * sW, C], x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rowOut = W * sW * C;
  let s = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = (b * H * sH + h * sH) * rowOut;
      for (let w = 0; w < W; w++) {
        for (let i = 0; i < sH; i++) {
          let d = base + i * rowOut + w * sW * C;
          for (let j = 0; j < sW; j++) {
            if (C >= 64) dst.set(src.subarray(s, s + C), d);
            else for (let c = 0; c < C; c++) dst[d + c] = src[s + c];
            s += C;
            d += C;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Identity without a copy: the output shares the input's buffer (reference counted, as the wasm
 * Reshape and the cpu backend's Identity do). tfjs tensors are immutable, so sharing is safe; the
 * stock wasm Identity copies, ~180 ms per U-Net training step (gradient wrappers of every conv).
 */
export function identityWasm(args: { inputs: { x: Info }; backend: WasmBackendLike & { incRef(dataId: unknown): void } }): Info {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let nativeTile: tf.KernelFunc | undefined;
export function setNativeTile(k: tf.KernelFunc | undefined): void {
  nativeTile = k;
}

/**
 * Tile by block copies (the batch-norm gradient tiles [1,1,1,C] statistics to [B,H,W,C]; the stock
 * wasm Tile moves one element at a time, ~20% of a batch-norm U-Net step). Axes are expanded from
 * the innermost out: after axis k, every outer index holds its block of s[k] * inner values written
 * r[k] times in a row; the last block is then doubled with copyWithin.
 */
export function tileWasm(args: { inputs: { x: Info }; backend: WasmBackendLike; attrs: { reps: number[] } }): Info {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  if (x.dtype === 'string') return nativeTile!(args as never) as Info;
  const s = x.shape;
  const r = attrs.reps;
  const n = s.length;
  const outShape = s.map((d, i) => d * r[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  const total = tf.util.sizeFromShape(outShape);
  if (total === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  // cur: data of shape s[0..k-1] + outShape[k..n-1], starting as x itself.
  let cur: Float32Array | Int32Array | Uint8Array = src.slice();
  let inner = 1; // product of outShape[k+1..]
  for (let k = n - 1; k >= 0; k--) {
    const seg = s[k] * inner; // one outer index's block before expanding axis k
    const outer = cur.length / seg;
    const reps = r[k];
    if (reps !== 1) {
      const next = new (cur.constructor as Float32ArrayConstructor)(outer * seg * reps) as typeof cur;
      for (let o = 0; o < outer; o++) {
        const base = o * seg * reps;
        (next as Float32Array).set((cur as Float32Array).subarray(o * seg, (o + 1) * seg), base);
        // Doubling: [seg] -> [2 seg] -> [4 seg] ... up to reps * seg.
        let filled = seg;
        const want = seg * reps;
        while (filled < want) {
          const len = Math.min(filled, want - filled);
          next.copyWithin(base + filled, base, base + len);
          filled += len;
        }
      }
      cur = next;
    }
    inner *= outShape[k];
  }
  backend.typedArrayFromHeap(out).set(cur as Float32Array);
  return out;
}
