/**
 * Denoising methods for the evaluation: 'raw' (no denoising), the classical baselines, and
 * 'model:PATH' (a trained network saved by models' saveModel, applied per projection with
 * models/tiling.ts denoiseTiled). Each method maps one projection [h, w] of counts to an estimate
 * of the expected counts.
 */
import { BASELINES, denoiseBaseline, tuneBaseline, type Baseline } from '../baselines/index.ts';

export type MapDenoiser = (counts: Float32Array, h: number, w: number, channel: string) => Float32Array | Promise<Float32Array>;

export interface MethodSpec { name: string; kind: 'raw' | 'baseline' | 'model'; baseline?: Baseline; path?: string }

export function parseMethods(spec: string | string[]): MethodSpec[] {
  const parts = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`methods: empty list; allowed: raw, ${BASELINES.join(', ')}, model:PATH, NAME=model:PATH`);
  const out: MethodSpec[] = [];
  for (const p of parts) {
    if (p === 'raw') out.push({ name: 'raw', kind: 'raw' });
    else if ((BASELINES as readonly string[]).includes(p)) out.push({ name: p, kind: 'baseline', baseline: p as Baseline });
    else if (p.startsWith('model:') && p.length > 6) out.push({ name: p, kind: 'model', path: p.slice(6) });
    else if (/^[A-Za-z0-9_.-]+=model:./.test(p)) {
      // NAME=model:PATH: a trained model shown under a short name in the report
      const eq = p.indexOf('=');
      out.push({ name: p.slice(0, eq), kind: 'model', path: p.slice(eq + 7) });
    } else throw new Error(`methods: unknown method '${p}'; allowed: raw, ${BASELINES.join(', ')}, model:PATH, NAME=model:PATH`);
  }
  if (new Set(out.map((m) => m.name)).size !== out.length) throw new Error('methods: a method is listed twice');
  return out;
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
    throw new Error(`method ${m.name}: models/tiling.ts (denoiseTiled) is not available: ${(e as Error).message}`);
  }
  const { model, metadata } = await models.loadModel(m.path!);
  const chans = metadata.channels;
  return {
    denoise: (c, h, w, channel) => {
      const k = chans.indexOf(channel);
      if (chans.length > 1 && k < 0) throw new Error(`method ${m.name}: the model was trained on channels ${chans.join(',')}, not '${channel}'`);
      return tiling.denoiseTiled(model, c, [1, h, w], { metadata });
    },
    close: () => model.dispose(),
    info: { scheme: metadata.scheme, spec: metadata.spec },
  };
}

export { tuneBaseline };
