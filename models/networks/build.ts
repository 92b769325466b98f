/**
 * Builds the denoisers as tf.LayersModels with input [null, null, C] (fully convolutional, any
 * image size), computes their receptive field, and pads odd image sizes.
 *
 * U-Net (Ronneberger et al. 2015, as in CARE): `depth` resolution levels; each level has
 * `convsPerLevel` k x k 'same' convolutions (+ batch norm) + activation; between levels a 2x2 max
 * pool or a k x k stride-2 convolution; on the way up a 2x2 stride-2 transposed convolution, or
 * nearest / bilinear up-sampling followed by a 1x1 conv halving the filters, then concatenation
 * with the skip connection. Output: 1x1 conv to outChannels, + input when residual.
 * DnCNN (Zhang et al. 2017): conv+act, (depth-2) x conv+BN+act, conv; residual output.
 * tiny: `depth` 3x3 convs of `filters` channels then a 1x1 conv: a fast net for tests.
 *
 * Sizes: a U-Net needs H and W divisible by 2^(depth-1) (pooling then up-sampling must give back
 * the skip's size). `padMultiple(spec)` gives that multiple; `padForModel` reflect-pads an NHWC
 * batch up to it and `cropTo` crops the prediction back (models/tiling.ts and `predictPadded` use
 * them), so every architecture runs on odd image sizes.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from './spec.ts';

type SymT = tf.SymbolicTensor;

function act(spec: ModelSpec, x: SymT, name: string): SymT {
  if (spec.activation === 'linear') return x;
  if (spec.activation === 'leakyRelu') return tf.layers.leakyReLU({ alpha: 0.1, name }).apply(x) as SymT;
  return tf.layers.reLU({ name }).apply(x) as SymT;
}

function convBlock(spec: ModelSpec, x: SymT, filters: number, name: string, opts: { strides?: number; bn?: boolean } = {}): SymT {
  const bn = opts.bn ?? spec.batchNorm;
  let y = tf.layers
    .conv2d({ filters, kernelSize: spec.kernelSize, strides: opts.strides ?? 1, padding: 'same', useBias: !bn, kernelInitializer: 'heNormal', name: `${name}_conv` })
    .apply(x) as SymT;
  if (bn) y = tf.layers.batchNormalization({ axis: -1, momentum: 0.99, epsilon: 1e-3, name: `${name}_bn` }).apply(y) as SymT;
  return act(spec, y, `${name}_act`);
}

/** Half-width R of the smoothing kernel (2R + 1 taps): the Gaussian truncated at 3 sigma. */
export function smoothRadius(sigma: number): number {
  return Math.max(1, Math.ceil(3 * sigma));
}

/**
 * The fixed smoothing layer: output k = G_sigma * input[smoothChannels[k]], a truncated Gaussian
 * g(i) = exp(-i^2 / (2 sigma^2)) / sum_|j|<=R exp(-j^2 / (2 sigma^2)), |i| <= R = ceil(3 sigma),
 * applied as one (2R + 1) x (2R + 1) 'same' conv whose weights are the outer product g(i) g(j), zero padding (the same border rule as every
 * other layer, so tiling stays exact). Not trainable; its weights are saved with the model.
 * Giving a network a smoothed copy of its noisy input (and optionally adding it to the output, so
 * the network learns the correction to a Gaussian filter) is the classical baseline as a prior:
 * residual learning on top of a simple estimate (He et al. 2016, doi:10.1109/CVPR.2016.90).
 */
function smoothing(spec: ModelSpec, input: SymT): SymT | null {
  const sigma = spec.smooth ?? 0;
  if (!(sigma > 0)) return null;
  const R = smoothRadius(sigma), k = 2 * R + 1, C = spec.inChannels, K = spec.outChannels;
  const g = Array.from({ length: k }, (_, i) => Math.exp(-((i - R) ** 2) / (2 * sigma * sigma)));
  const sum = g.reduce((a, v) => a + v, 0);
  const kernel = new Float32Array(k * k * C * K);
  const ch = spec.smoothChannels!;
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let o = 0; o < K; o++) kernel[((a * k + b) * C + ch[o]) * K + o] = (g[a] * g[b]) / (sum * sum);
  const layer = tf.layers.conv2d({ filters: K, kernelSize: k, padding: 'same', useBias: false, trainable: false, weights: [tf.tensor4d(kernel, [k, k, C, K])], name: 'smooth_conv' });
  const y = layer.apply(input) as SymT;
  // The constructor's flag leaves the built variable trainable; the setter marks it (the data-parallel
  // engine and seeded init read the variable's flag).
  layer.trainable = false;
  return y;
}

function outputHead(spec: ModelSpec, input: SymT, x: SymT, smoothed: SymT | null = null): SymT {
  let y = tf.layers.conv2d({ filters: spec.outChannels, kernelSize: 1, padding: 'same', name: 'output_conv' }).apply(x) as SymT;
  if (spec.residual) y = tf.layers.add({ name: 'residual_add' }).apply([input, y]) as SymT;
  if (spec.smoothResidual && smoothed) y = tf.layers.add({ name: 'smooth_residual_add' }).apply([smoothed, y]) as SymT;
  if (spec.outputActivation === 'softplus') y = tf.layers.activation({ activation: 'softplus', name: 'output_softplus' }).apply(y) as SymT;
  return y;
}

function unet(spec: ModelSpec, input: SymT): SymT {
  const skips: SymT[] = [];
  const smoothed = smoothing(spec, input);
  let x = smoothed ? (tf.layers.concatenate({ axis: -1, name: 'smooth_concat' }).apply([input, smoothed]) as SymT) : input;
  for (let l = 0; l < spec.depth; l++) {
    const f = spec.filters * 2 ** l;
    for (let c = 0; c < spec.convsPerLevel; c++) x = convBlock(spec, x, f, `down${l}_${c}`);
    if (l < spec.depth - 1) {
      skips.push(x);
      x =
        spec.down === 'maxpool'
          ? (tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: `pool${l}` }).apply(x) as SymT)
          : convBlock(spec, x, f, `strided${l}`, { strides: 2 });
    }
  }
  for (let l = spec.depth - 2; l >= 0; l--) {
    const f = spec.filters * 2 ** l;
    if (spec.up === 'transposed') {
      x = tf.layers.conv2dTranspose({ filters: f, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: 'heNormal', name: `up${l}_tconv` }).apply(x) as SymT;
    } else {
      x = tf.layers.upSampling2d({ size: [2, 2], interpolation: spec.up, name: `up${l}_resize` }).apply(x) as SymT;
      x = tf.layers.conv2d({ filters: f, kernelSize: 1, padding: 'same', kernelInitializer: 'heNormal', name: `up${l}_conv1x1` }).apply(x) as SymT;
    }
    x = tf.layers.concatenate({ axis: -1, name: `skip${l}` }).apply([skips[l], x]) as SymT;
    for (let c = 0; c < spec.convsPerLevel; c++) x = convBlock(spec, x, f, `up${l}_${c}`);
  }
  return outputHead(spec, input, x, smoothed);
}

function dncnn(spec: ModelSpec, input: SymT): SymT {
  let x = convBlock(spec, input, spec.filters, 'layer0', { bn: false });
  for (let i = 1; i < spec.depth - 1; i++) x = convBlock(spec, x, spec.filters, `layer${i}`);
  // Last layer: a k x k conv to outChannels (DnCNN has no 1x1 head); residual adds the input.
  let y = tf.layers.conv2d({ filters: spec.outChannels, kernelSize: spec.kernelSize, padding: 'same', name: 'output_conv' }).apply(x) as SymT;
  if (spec.residual) y = tf.layers.add({ name: 'residual_add' }).apply([input, y]) as SymT;
  if (spec.outputActivation === 'softplus') y = tf.layers.activation({ activation: 'softplus', name: 'output_softplus' }).apply(y) as SymT;
  return y;
}

function tiny(spec: ModelSpec, input: SymT): SymT {
  let x = input;
  for (let i = 0; i < spec.depth; i++) x = convBlock(spec, x, spec.filters, `layer${i}`);
  return outputHead(spec, input, x);
}

/** Builds the model for a validated spec (see spec.ts `validateModelSpec`). Input [null, null, inChannels]. */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  const input = tf.input({ shape: [null, null, spec.inChannels], name: 'input' });
  const out = spec.arch === 'unet' ? unet(spec, input) : spec.arch === 'dncnn' ? dncnn(spec, input) : tiny(spec, input);
  return tf.model({ inputs: input, outputs: out, name: `nanodose_${spec.arch}` });
}

/**
 * Theoretical receptive field (pixels, per axis) of one output pixel:
 * RF = 1 + sum over layers of (k_eff - 1) * jump, jump = product of the strides below the layer
 * (Araujo et al. 2019, "Computing receptive fields of convolutional neural networks"). On the U-Net
 * this is the path through the bottleneck: encoder convs (k-1)*2^l, pool (2-1)*2^l or strided conv
 * (k-1)*2^l, transposed conv 2x2/2 adds 0, bilinear up-sampling adds 1 coarse pixel (2^(l+1)),
 * decoder convs (k-1)*2^l. The tiling code overlaps tiles by at least this much.
 */
export function receptiveField(spec: ModelSpec): number {
  const k = spec.kernelSize;
  if (spec.arch === 'dncnn') return 1 + spec.depth * (k - 1);
  if (spec.arch === 'tiny') return 1 + spec.depth * (k - 1);
  // The smoothed input copies widen the input by R on each side.
  let rf = 1 + ((spec.smooth ?? 0) > 0 ? 2 * smoothRadius(spec.smooth!) : 0);
  for (let l = 0; l < spec.depth; l++) {
    const jump = 2 ** l;
    rf += spec.convsPerLevel * (k - 1) * jump; // encoder convs at this level
    if (l < spec.depth - 1) {
      rf += (spec.down === 'maxpool' ? 1 : k - 1) * jump; // down-sampling
      rf += spec.convsPerLevel * (k - 1) * jump; // decoder convs at this level
      if (spec.up === 'bilinear') rf += 2 * jump;
    }
  }
  return rf;
}

/** H and W must be multiples of this (2^(depth-1) for the U-Net, 1 otherwise). */
export function padMultiple(spec: ModelSpec): number {
  return spec.arch === 'unet' ? 2 ** (spec.depth - 1) : 1;
}

/**
 * Reflect-pads an NHWC batch at the bottom/right up to multiples of `multiple`. Falls back to
 * symmetric then edge padding for tiny images where reflection is shorter than the pad.
 * Returns the padded batch and the original [H, W] for `cropTo`.
 */
export function padForModel(x: tf.Tensor4D, multiple: number): { padded: tf.Tensor4D; size: [number, number] } {
  const [, h, w] = x.shape;
  const ph = (multiple - (h % multiple)) % multiple;
  const pw = (multiple - (w % multiple)) % multiple;
  if (ph === 0 && pw === 0) return { padded: x.clone(), size: [h, w] };
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    // mirrorPad 'reflect' needs pad < size; grow in steps so any pad works.
    let rh = ph;
    let rw = pw;
    while (rh > 0 || rw > 0) {
      const sh = Math.min(rh, y.shape[1] - 1);
      const sw = Math.min(rw, y.shape[2] - 1);
      if ((rh > 0 && sh <= 0) || (rw > 0 && sw <= 0)) {
        // 1-pixel image: edge padding by repetition.
        y = tf.concat([y, ...Array.from({ length: rh }, () => tf.slice(y, [0, y.shape[1] - 1, 0, 0], [-1, 1, -1, -1]))], 1) as tf.Tensor4D;
        rh = 0;
        y = tf.concat([y, ...Array.from({ length: rw }, () => tf.slice(y, [0, 0, y.shape[2] - 1, 0], [-1, -1, 1, -1]))], 2) as tf.Tensor4D;
        rw = 0;
        break;
      }
      y = tf.mirrorPad(y, [[0, 0], [0, Math.max(0, sh)], [0, Math.max(0, sw)], [0, 0]], 'reflect');
      rh -= Math.max(0, sh);
      rw -= Math.max(0, sw);
    }
    return { padded: y, size: [h, w] as [number, number] };
  });
}

/** Crops an NHWC batch back to [H, W] (top-left). */
export function cropTo(y: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  return tf.slice(y, [0, 0, 0, 0], [-1, size[0], size[1], -1]);
}

/** Runs the model on a batch of any H, W: reflect-pad to padMultiple, predict, crop back. */
export function predictPadded(model: tf.LayersModel, spec: ModelSpec, x: tf.Tensor4D): tf.Tensor4D {
  const { padded, size } = padForModel(x, padMultiple(spec));
  const y = tf.tidy(() => cropTo(model.predict(padded) as tf.Tensor4D, size));
  padded.dispose();
  return y;
}
