/**
 * Evaluation methods that bring their own reconstruction: they take the whole noisy acquisition at a
 * dose (the HAADF tilt series and every element's EDX tilt series, the latter after an optional
 * denoiser) and return every element volume, where the other methods denoise one channel and hand it
 * to `--recon`. The joint HAADF + EDX reconstructions of eval/recon (fused, bimodal, TNV) are
 * registered here; a HAADF-only method (one that reads no EDX) registers the same way with
 * `edx: false`, one line in VOLUME_METHODS.
 *
 * A method's free hyper-parameter (`tune`) is chosen per dose on validation phantoms over a small
 * grid, by the mean reconstruction PSNR over the elements (eval/harness/run.ts), as the baselines'
 * parameters are; a value given in the method spec is used as is.
 */
import type { ProjectionOperator } from '../recon/operator.ts';
import { isJoseph, reconstruct } from '../recon/reconstruct.ts';
import { parseJointSpec, defaultRegularisation, type JointMethod } from '../recon/joint/index.ts';
import type { ChannelReconSpec } from '../recon/reconstruct.ts';
import { haadfLinearise, type AcquisitionConfig } from '../../generators/signal/index.ts';
import { haadfQuantMethod } from './haadf-quant.ts';
import { ConfigError, isInternalError } from '../../core/validate.ts';

/** The noisy acquisition of one phantom at one dose, as a volume method reads it. */
export interface Acquisition {
  /** Noisy HAADF counts [angle, row, col] at the dose (scattered electrons per pixel). */
  haadf: Float32Array;
  /** Element tilt series (denoised when a denoiser comes first), one per element, in `elements` order. */
  edx: Float32Array[];
  elements: { symbol: string; Z: number }[];
  /** Dose per projection, e/A^2. */
  dose: number;
  /** Incident electrons per pixel N0 = dose x a^2. */
  incident: number;
  /** Detector pixel = voxel edge a, in A. */
  pixelSizeAngstrom: number;
  /** HAADF coefficient mu_e per A of pure element (generators/signal haadfCoefficients), per element. */
  haadfMu: number[];
  /** The dataset's validated acquisition config (gamma, mu_Au, HAADF model: what haadf-quant inverts). */
  acquisition: AcquisitionConfig;
}

/** A parsed volume method: what the harness runs and records. */
export interface VolumeMethodSpec {
  /** Registry key (fused, bimodal, tnv, ...). */
  method: string;
  /** Iterations or other fixed settings the spec gave, as text for messages. */
  args: string[];
  /** The hyper-parameter when the spec fixes it; undefined: tuned per dose. */
  fixed?: number;
}

export interface VolumeMethod {
  /** Whether it reads the EDX maps (so a denoiser may come before it). */
  edx: boolean;
  /** The hyper-parameter tuned per dose on validation phantoms, with its candidate grid. */
  tune?: { name: string; grid: readonly number[]; default: number };
  /** Validates the arguments after the name ('fused:40:0.1' gives ['40', '0.1']); throws naming the field. */
  parse(args: string[]): VolumeMethodSpec;
  /**
   * Every element volume (any scale: scored after a least-squares scale), in `acq.elements` order,
   * and the method's warnings on this acquisition (recorded beside its rows, in summary.json and the
   * report). `o.recon` is the run's per-channel reconstruction (--recon), for a method that
   * reconstructs a single channel (haadf-quant's HAADF).
   */
  run(op: ProjectionOperator, acq: Acquisition, spec: VolumeMethodSpec, param: number | undefined, o: { workers?: number; recon: ChannelReconSpec }): Promise<VolumeResult>;
}

export interface VolumeResult { volumes: Float32Array[]; warnings?: string[] }

/**
 * Candidate grids: for fused and TNV a factor on the library's data-scaled default weight
 * (defaultRegularisation: 6 (TNV 18) / sqrt(mean EDX count per element on the HAADF support), so the grid suits
 * every dose), 1/10 to 30, half a decade apart, centred on the default: on the demo data (30-3000 e/A^2,
 * one validation phantom, joint-eval) fused:20 on raw counts peaked at 1, 1, 1, 10, 10 and
 * gaussian+fused:20 at 1/3, 1/3, 1, 1, 1, while 30 and above flattened the volumes at every dose but the
 * highest (on the earlier default, the mean over lit pixels, the same runs peaked at 30-100 and 1-3); tnv:20
 * on the TNV default (3x TV's) peaks near 10, 3, 1, 1, 1 (that run on TV's constant, divided by 3); the
 * default 1 is used when tuning is off. For bimodal alpha, the HAADF share of the data term. The tuning
 * costs grid x validation phantoms reconstructions per dose. A weight written in the spec ('fused:20:0.05')
 * is absolute and not tuned.
 */
export const JOINT_GRIDS: Record<JointMethod, { name: string; grid: readonly number[]; default: number }> = {
  fused: { name: 'tv (x default)', grid: [1 / 10, 1 / 3, 1, 3, 10, 30], default: 1 },
  bimodal: { name: 'alpha', grid: [0.25, 0.5, 0.75], default: 0.5 },
  tnv: { name: 'weight (x default)', grid: [1 / 10, 1 / 3, 1, 3, 10, 30], default: 1 },
};

function jointMethod(kind: JointMethod): VolumeMethod {
  return {
    edx: true,
    tune: JOINT_GRIDS[kind],
    parse(args) {
      // the library validates iterations and the weight, naming the field
      parseJointSpec([kind, ...args].join(':'));
      const w = args[1];
      return { method: kind, args, ...(w !== undefined && w !== '' ? { fixed: Number(w) } : {}) };
    },
    async run(op, acq, spec, param, o) {
      const it = spec.args[0];
      const g = param ?? JOINT_GRIDS[kind].default;
      // bimodal's alpha as is; a tuned TV/TNV factor times the data-scaled default; a fixed weight as written
      // -ln(1 - I/N0) = P sum_e (mu_e a) x_e: the linear HAADF model the joint methods take
      const haadf = haadfLinearise(acq.haadf, acq.incident);
      const p = kind === 'bimodal' || spec.fixed !== undefined ? (spec.fixed ?? g) : g * defaultRegularisation(acq.edx, haadf, kind);
      const js = parseJointSpec(`${kind}:${it ?? ''}:${p}`);
      const a = acq.pixelSizeAngstrom;
      // The Joseph operator goes to reconstruct as it is: the joint engine then projects on its own ray table
      // (never calling op, so nothing to serialise), several times faster than op's matrix-free projector.
      // Wrapped in serialOperator, it was not recognised and the demo's fused blocks took ~3x as long.
      const r = await reconstruct(isJoseph(op) ? op : serialOperator(op), {
        edx: acq.edx, elements: acq.elements.map((e) => e.symbol),
        haadf, haadfWeights: acq.haadfMu.map((m) => m * a), incident: acq.incident,
      }, js, { workers: o.workers });
      return { volumes: r.volumes };
    },
  };
}

/**
 * The registry: the joint HAADF + EDX reconstructions, and quantitative HAADF tomography
 * (eval/harness/haadf-quant.ts, `edx: false`: HAADF only, no denoiser before it).
 */
export const VOLUME_METHODS: Record<string, VolumeMethod> = {
  fused: jointMethod('fused'),
  bimodal: jointMethod('bimodal'),
  tnv: jointMethod('tnv'),
  'haadf-quant': haadfQuantMethod,
};

/**
 * The operator with its calls run one after another. The Projector's worker pool shares one pair of
 * buffers, so two calls in flight at once (Promise.all over elements) would overwrite each other's
 * data or never settle; a volume method may issue such calls, so the harness hands it this view.
 */
export function serialOperator(op: ProjectionOperator): ProjectionOperator {
  let chain: Promise<unknown> = Promise.resolve();
  const queue = <T>(f: () => Promise<T>): Promise<T> => {
    const r = chain.then(f);
    chain = r.catch(() => undefined);
    return r;
  };
  return {
    geom: op.geom, volumeSize: op.volumeSize, tiltSeriesSize: op.tiltSeriesSize,
    forward: (x, out) => queue(() => op.forward(x, out)),
    back: (y, out) => queue(() => op.back(y, out)),
    rowSums: () => queue(() => op.rowSums()),
    colSums: () => queue(() => op.colSums()),
  };
}

/** 'fused', 'fused:40', 'fused:40:0.1' -> the parsed spec, or null when the name is not a volume method. */
export function parseVolumeMethod(text: string): VolumeMethodSpec | null {
  const [name, ...args] = text.split(':');
  const vm = Object.hasOwn(VOLUME_METHODS, name) ? VOLUME_METHODS[name] : undefined;
  if (!vm) return null;
  try {
    return vm.parse(args);
  } catch (e) {
    if (isInternalError(e)) throw e;
    throw new ConfigError('methods', `'${text}': ${(e as Error).message.replace(/^recon: /, '')}`);
  }
}
