/**
 * Model specifications: the architecture of a denoiser as plain JSON (stored in model.json's
 * metadata, so a saved model rebuilds itself). Defaults follow the field (science.md section 5):
 * U-Net with 4 resolution levels (3 down-samplings), 32 base filters doubling per level, 2 convs of
 * 3x3 per level, ReLU (CARE: Weigert et al. 2018; Noise2Void: Krull et al. 2019; the PyTorch
 * reference of the issue has 1.93 M parameters with transposed-conv up, which is this default).
 */
import { ConfigError, checkChoice, checkKnownKeys, checkNumber } from '../../core/validate.ts';

export type Arch = 'unet' | 'dncnn' | 'tiny';
export const ARCHS: readonly Arch[] = ['unet', 'dncnn', 'tiny'];
export type Activation = 'relu' | 'leakyRelu' | 'linear';
export type Down = 'maxpool' | 'strided';
export type Up = 'transposed' | 'nearest' | 'bilinear';

export interface ModelSpec {
  arch: Arch;
  /** Input channels (e.g. HAADF + one per element). */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** U-Net: resolution levels (depth - 1 down-samplings). DnCNN: number of conv layers. */
  depth: number;
  /** U-Net: filters at the first level (doubling per level). DnCNN / tiny: filters per layer. */
  filters: number;
  /** U-Net: convolutions per level. */
  convsPerLevel: number;
  kernelSize: number;
  batchNorm: boolean;
  down: Down;
  up: Up;
  /** Output = input + network (requires inChannels == outChannels). */
  residual: boolean;
  activation: Activation;
  /** Output activation: 'linear' or 'softplus' (positive counts, e.g. for a Poisson loss). */
  outputActivation: 'linear' | 'softplus';
  /**
   * U-Net: Gaussian smoothing width sigma (px) of fixed (non-trainable) smoothed copies of the input
   * channels `smoothChannels` that the network also sees (absent or 0: none; build.ts smoothing).
   */
  smooth?: number;
  /** Input channels smoothed, one per output channel in output order (default: the last outChannels inputs). */
  smoothChannels?: number[];
  /** Output k = the smoothed input smoothChannels[k] + the network (learns the correction to a Gaussian filter). */
  smoothResidual?: boolean;
}

const KEYS = ['arch', 'inChannels', 'outChannels', 'depth', 'filters', 'convsPerLevel', 'kernelSize', 'batchNorm', 'down', 'up', 'residual', 'activation', 'outputActivation', 'smooth', 'smoothChannels', 'smoothResidual'] as const;

/** The field's defaults for an architecture. */
export function defaultModelSpec(arch: Arch = 'unet', inChannels = 1, outChannels = inChannels): ModelSpec {
  const base = { arch, inChannels, outChannels, kernelSize: 3, down: 'maxpool' as Down, up: 'transposed' as Up, activation: 'relu' as Activation, outputActivation: 'linear' as const, convsPerLevel: 2 };
  if (arch === 'unet') return { ...base, depth: 4, filters: 32, batchNorm: false, residual: inChannels === outChannels };
  // DnCNN (Zhang et al. 2017): 17 layers of 64 3x3 filters, batch norm, residual (predicts the noise).
  if (arch === 'dncnn') return { ...base, depth: 17, filters: 64, batchNorm: true, residual: inChannels === outChannels };
  return { ...base, depth: 3, filters: 8, batchNorm: false, residual: false };
}

/** Merges a partial spec over the defaults of its arch and validates every field (ConfigError naming it). */
export function validateModelSpec(raw: unknown, field = 'model'): ModelSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(field, `must be an object with fields ${KEYS.join(', ')}`);
  const r = raw as Record<string, unknown>;
  checkKnownKeys(field, r, KEYS);
  const arch = checkChoice(`${field}.arch`, r.arch ?? 'unet', ARCHS);
  const inC = checkNumber(`${field}.inChannels`, r.inChannels ?? 1, 1, 64, { integer: true });
  const outC = checkNumber(`${field}.outChannels`, r.outChannels ?? inC, 1, 64, { integer: true });
  const d = defaultModelSpec(arch, inC, outC);
  const s: ModelSpec = {
    arch,
    inChannels: inC,
    outChannels: outC,
    depth: checkNumber(`${field}.depth`, r.depth ?? d.depth, arch === 'unet' ? 1 : 2, arch === 'unet' ? 7 : 64, { integer: true }),
    filters: checkNumber(`${field}.filters`, r.filters ?? d.filters, 1, 1024, { integer: true }),
    convsPerLevel: checkNumber(`${field}.convsPerLevel`, r.convsPerLevel ?? d.convsPerLevel, 1, 8, { integer: true }),
    kernelSize: checkNumber(`${field}.kernelSize`, r.kernelSize ?? d.kernelSize, 1, 15, { integer: true }),
    batchNorm: checkBool(`${field}.batchNorm`, r.batchNorm ?? d.batchNorm),
    down: checkChoice(`${field}.down`, r.down ?? d.down, ['maxpool', 'strided'] as const),
    up: checkChoice(`${field}.up`, r.up ?? d.up, ['transposed', 'nearest', 'bilinear'] as const),
    residual: checkBool(`${field}.residual`, r.residual ?? (r.smoothResidual === true ? false : d.residual)),
    activation: checkChoice(`${field}.activation`, r.activation ?? d.activation, ['relu', 'leakyRelu', 'linear'] as const),
    outputActivation: checkChoice(`${field}.outputActivation`, r.outputActivation ?? d.outputActivation, ['linear', 'softplus'] as const),
  };
  const smooth = checkNumber(`${field}.smooth`, r.smooth ?? 0, 0, 8);
  if (smooth > 0) {
    if (arch !== 'unet') throw new ConfigError(`${field}.smooth`, `smoothed input channels are built for the unet only, not ${arch}`);
    const ch = r.smoothChannels ?? Array.from({ length: outC }, (_, k) => inC - outC + k);
    if (!Array.isArray(ch) || ch.length !== outC || !ch.every((c) => Number.isInteger(c) && c >= 0 && c < inC)) {
      throw new ConfigError(`${field}.smoothChannels`, `must list ${outC} input channel indices in [0, ${inC - 1}] (one per output), got ${JSON.stringify(r.smoothChannels)}`);
    }
    s.smooth = smooth;
    s.smoothChannels = ch as number[];
    s.smoothResidual = checkBool(`${field}.smoothResidual`, r.smoothResidual ?? false);
    if (s.residual && s.smoothResidual) throw new ConfigError(`${field}.smoothResidual`, 'cannot be combined with residual (the output adds either the input or its smoothed copy)');
  } else if (r.smoothChannels !== undefined || r.smoothResidual) {
    throw new ConfigError(`${field}.smooth`, 'smoothChannels / smoothResidual need smooth > 0 (the Gaussian sigma in pixels)');
  }
  if (s.kernelSize % 2 === 0) throw new ConfigError(`${field}.kernelSize`, `must be odd (centred 'same' convolutions), got ${s.kernelSize}`);
  if (s.residual && s.inChannels !== s.outChannels) {
    throw new ConfigError(`${field}.residual`, `needs inChannels == outChannels (got ${s.inChannels} in, ${s.outChannels} out); set residual: false`);
  }
  return s;
}

function checkBool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}
