/**
 * The default sample source of `generateDataset`: the simulator (generators/simulate.ts). One
 * Projector per source (one thread each: parallelism comes from several sources in worker threads,
 * each writing its own shard files).
 */
import type { Seed } from '../core/random.ts';
import { ELEMENTS } from '../generators/phantoms/index.ts';
import { Projector, makeGeometry, parseTiltAngles } from '../generators/projection/index.ts';
import { simulateSample } from '../generators/simulate.ts';
import { CONFIG_DOCS, defaultDatasetConfig, validateDatasetConfig, type DatasetConfig } from './config.ts';
import type { SampleSource } from './source.ts';

export { CONFIG_DOCS };
export const validateConfig = validateDatasetConfig;
export const defaultConfig = defaultDatasetConfig;

/** Looks up a numeric acquisition setting under any of its likely names. */
export async function createSource(cfg: DatasetConfig, seed: Seed): Promise<SampleSource> {
  const sim = cfg.simulation;
  const N = sim.phantom.size;
  const angles = parseTiltAngles(sim.geometry.angles);
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N, nCols: sim.geometry.nCols });
  const projector = new Projector(geom, { workers: 1 });
  const elements = sim.phantom.elements.map((symbol: string) => ({ symbol, Z: ELEMENTS[symbol] }));
  const frames = sim.acquisition.frames;
  // One voxel = one detector pixel of acquisition.pixelSizeAngstrom (the signal model's unit, generators/signal).
  const pixelSizeNm = sim.acquisition.pixelSizeAngstrom / 10;
  const microscope: SampleSource['microscope'] = {};
  for (const [k, v] of Object.entries(sim.acquisition as unknown as Record<string, unknown>)) {
    if (typeof v === 'number' || typeof v === 'string') microscope[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) microscope[k] = v as number[];
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) microscope[k] = v as string[];
    else if (typeof v === 'boolean') microscope[k] = v ? 1 : 0;
    else if (v !== undefined) microscope[k] = JSON.stringify(v);
  }
  microscope.pixel_size_nm = pixelSizeNm;
  microscope.frames = frames;
  microscope.elements = elements.map((e) => e.symbol);
  microscope.atomic_numbers = elements.map((e) => e.Z);
  microscope.channel_names = ['HAADF', ...elements.map((e) => e.symbol)];
  return {
    layout: { elements, channels: ['HAADF', ...elements.map((e) => e.symbol)], angles, size: N, nCols: geom.nCols, nFrames: frames > 1 ? frames : 0, pixelSizeNm },
    microscope,
    async sample(index) {
      const s = await simulateSample(sim, seed, index, { projector });
      return {
        index,
        params: s.params,
        dose: s.params.dosePerProjection,
        doseTotal: s.params.doseTotal,
        phantom: s.volume,
        clean: s.clean,
        noisy: s.noisy,
        frames: s.frames,
      };
    },
    async close() {
      await projector.close();
    },
  };
}
