/**
 * Where samples come from when a dataset is generated: a module (by URL, so worker threads can load
 * it) exporting `validateConfig(raw)` and `createSource(config, seed)`. The default is
 * datasets/simulated.ts (the simulator); tests use a fast synthetic source with the same contract.
 */
import type { Seed } from '../core/random.ts';
import type { SampleRecord, ShardLayout } from './formats/hdf5/emd.ts';
import type { DatasetFileOptions } from './options.ts';
import { InternalError } from '../core/validate.ts';

export interface SampleSource {
  /** Everything of the shard layout that the samples fix (store and compression come from the config). */
  layout: Omit<ShardLayout, 'store' | 'compression'>;
  /** /microscope attributes. */
  microscope: Record<string, number | string | number[] | string[]>;
  /** Sample `index` (depends only on (seed, index)); the split is filled in by the caller. */
  sample(index: number, want: { phantom: boolean; frames: boolean }): Promise<Omit<SampleRecord, 'split'>>;
  close(): Promise<void>;
}

export interface SourceModule<C extends DatasetFileOptions = DatasetFileOptions> {
  /** Full config from a partial one (merged over defaults); throws ConfigError naming the field. */
  validateConfig(raw: unknown): C;
  defaultConfig(): C;
  createSource(config: C, seed: Seed): Promise<SampleSource>;
}

export const DEFAULT_SOURCE = new URL('./simulated.ts', import.meta.url).href;

export async function loadSource(url: string = DEFAULT_SOURCE): Promise<SourceModule> {
  try {
    return (await import(url)) as SourceModule;
  } catch (e) {
    const err = e as { code?: string; message: string };
    if (url === DEFAULT_SOURCE && err.code === 'ERR_MODULE_NOT_FOUND') {
      throw new InternalError(`the simulator is not available in this checkout (${err.message.split('\n')[0]}); datasets/simulated.ts needs generators/simulate.ts, generators/projection and generators/phantoms`);
    }
    throw e;
  }
}
