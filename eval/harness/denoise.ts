/**
 * Denoising methods for the evaluation: 'raw' (no denoising), the classical baselines, and
 * 'model:PATH' (a trained network saved by models' saveModel, applied per projection with
 * models/tiling.ts denoiseTiled). Each method maps one projection [h, w] of counts to an estimate
 * of the expected counts.
 */
import { BASELINES, denoiseBaseline, tuneBaseline, type Baseline } from '../baselines/index.ts';
import { VOLUME_METHODS, parseVolumeMethod, type VolumeMethodSpec } from './methods.ts';
import { ConfigError, InternalError } from '../../core/validate.ts';

/**
 * Denoises one projection [h, w] of element `channel`. `all` holds every channel of the same
 * projection at the same dose (the HAADF and every element map, by name): a multi-channel (guided)
 * model reads its inputs from it.
 */
export type MapDenoiser = (counts: Float32Array, h: number, w: number, channel: string, all?: Record<string, Float32Array>) => Float32Array | Promise<Float32Array>;

/**
 * An evaluation method: a map denoiser (`kind`: raw, a baseline or a trained model) and, when
 * `volume` is set, a method that brings its own reconstruction (eval/harness/methods.ts: fused,
 * bimodal, TNV) in place of `--recon`; 'gaussian+fused' is the Gaussian filter before fused.
 */
export interface MethodSpec { name: string; kind: 'raw' | 'baseline' | 'model'; baseline?: Baseline; path?: string; volume?: VolumeMethodSpec }

const allowed = () => `raw, ${BASELINES.join(', ')}, model:PATH, ${Object.keys(VOLUME_METHODS).join(', ')} (each [:iterations[:weight]]), DENOISER+${Object.keys(VOLUME_METHODS)[0]} (a denoiser before it), and LABEL=METHOD`;

/** One denoiser: raw, a baseline or model:PATH; null when the text is none of them. */
function parseDenoiser(p: string): Omit<MethodSpec, 'name'> | null {
  if (p === 'raw') return { kind: 'raw' };
  if ((BASELINES as readonly string[]).includes(p)) return { kind: 'baseline', baseline: p as Baseline };
  if (p.startsWith('model:') && p.length > 6) return { kind: 'model', path: p.slice(6) };
  return null;
}

function parseOne(p: string): MethodSpec {
  // LABEL=METHOD: the method shown under a short name in the report
  const lab = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(p);
  const name = lab ? lab[1] : p, body = lab ? lab[2] : p;
  // a label may not take a name the report and tuning.json use for a built-in method
  if (lab && (name === 'raw' || (BASELINES as readonly string[]).includes(name) || Object.hasOwn(VOLUME_METHODS, name))) throw new ConfigError('methods', `'${p}': the label '${name}' is a built-in method's name; choose another`);
  const vol = parseVolumeMethod(body);
  if (vol) return { name, kind: 'raw', volume: vol };
  const den = parseDenoiser(body);
  const plus = body.lastIndexOf('+');
  if (plus > 0) {
    const tail = parseVolumeMethod(body.slice(plus + 1));
    if (tail) {
      const head = body.slice(0, plus);
      const d = parseDenoiser(head);
      if (!d) throw new ConfigError('methods', `'${p}': '${head}' is not a denoiser; before '+' allowed: raw, ${BASELINES.join(', ')}, model:PATH`);
      if (!VOLUME_METHODS[tail.method].edx) throw new ConfigError('methods', `'${p}': ${tail.method} reads only the HAADF, so a denoiser of the EDX maps before it changes nothing; list '${tail.method}' alone`);
      return { name, ...d, volume: tail };
    }
  }
  if (den) return { name, ...den };
  throw new ConfigError('methods', `unknown method '${p}'; allowed: ${allowed()}`);
}

export function parseMethods(spec: string | string[]): MethodSpec[] {
  const parts = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError('methods', `empty list; allowed: ${allowed()}`);
  const out = parts.map(parseOne);
  const names = out.map((m) => m.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new ConfigError('methods', `'${twice}' is listed twice`);
  return out;
}

/**
 * The warning a block of a model method records when its dose is outside the model's training
 * range (0.1 % slack for the range's own rounding): one text per method (the report adds the doses
 * and blocks it applies to), or null.
 */
export function doseRangeWarning(info: Record<string, unknown>, dose: number): string | null {
  const dr = info.doseRange as [number, number] | undefined;
  if (!dr || !(dose < dr[0] * 0.999 || dose > dr[1] * 1.001)) return null;
  return `trained on inputs at ${dr[0].toPrecision(3)}-${dr[1].toPrecision(3)} e/A^2 per projection; applied outside that range (its figures there are extrapolation)`;
}

/** Builds the map denoiser of a method; baseline parameters come from `params` (tuned on validation). */
export async function makeDenoiser(m: MethodSpec, params: Partial<Record<Baseline, number>>, opts: { quiet?: boolean; backend?: string } = {}): Promise<{ denoise: MapDenoiser; close: () => void; info: Record<string, unknown> }> {
  if (m.kind === 'raw') return { denoise: (c) => c, close: () => {}, info: {} };
  if (m.kind === 'baseline') {
    const p = params[m.baseline!];
    return { denoise: (c, h, w) => denoiseBaseline(m.baseline!, c, h, w, p), close: () => {}, info: { param: p } };
  }
  // model:PATH: models' loader and training's tiled inference, loaded lazily (tfjs is heavy).
  const models = await import('../../models/index.ts');
  await models.initBackend({ quiet: opts.quiet, ...(opts.backend ? { backend: opts.backend as 'auto' } : {}) });
  let tiling: { denoiseTiled: (model: unknown, image: Float32Array, shape: [number, number, number], opts?: Record<string, unknown>) => Float32Array | Promise<Float32Array> };
  try {
    tiling = (await import(/* runtime-only */ '../../models/' + 'tiling.ts')) as typeof tiling;
  } catch (e) {
    throw new InternalError(`method ${m.name}: models/tiling.ts (denoiseTiled) is not available: ${(e as Error).message}`);
  }
  const { model, metadata } = await models.loadModel(m.path!);
  const chans = metadata.channels;
  const spec = metadata.spec;
  // A model trained over a dose range: every evaluated block outside it records doseRangeWarning (group.ts).
  const dr = metadata.doseRange;
  if (spec.inChannels > 1) {
    // Guided / multi-channel model: inputs by name from `all`, every output computed once per projection.
    const outs = (metadata.outputChannels as string[] | undefined) ?? chans.slice(chans.length - spec.outChannels);
    const cache = new WeakMap<object, Promise<Float32Array>>();
    return {
      denoise: async (_c, h, w, channel, all) => {
        const o = outs.indexOf(channel);
        if (o < 0) throw new ConfigError(`method ${m.name}`, `the model outputs ${outs.join(',')}, not '${channel}'`);
        if (!all) throw new InternalError(`method ${m.name}: a multi-channel model needs every input channel (${chans.join(',')}) of the projection`);
        const missing = chans.filter((n) => !all[n]);
        if (missing.length) throw new ConfigError(`method ${m.name}`, `the model takes ${chans.join(',')}; the data lacks ${missing.join(',')}`);
        let y = cache.get(all);
        if (!y) {
          const x = new Float32Array(chans.length * h * w);
          chans.forEach((n, k) => x.set(all[n], k * h * w));
          y = Promise.resolve(tiling.denoiseTiled(model, x, [chans.length, h, w], { metadata }));
          cache.set(all, y);
        }
        return (await y).slice(o * h * w, (o + 1) * h * w);
      },
      close: () => model.dispose(),
      info: { scheme: metadata.scheme, spec: metadata.spec, channels: chans, outputChannels: outs, doseRange: dr },
    };
  }
  return {
    denoise: (c, h, w, channel) => {
      const k = chans.indexOf(channel);
      if (chans.length > 1 && k < 0) throw new ConfigError(`method ${m.name}`, `the model was trained on channels ${chans.join(',')}, not '${channel}'`);
      return tiling.denoiseTiled(model, c, [1, h, w], { metadata });
    },
    close: () => model.dispose(),
    info: { scheme: metadata.scheme, spec: metadata.spec, doseRange: dr },
  };
}

export { tuneBaseline };
