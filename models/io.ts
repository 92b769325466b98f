/**
 * Save and load denoisers in the TensorFlow.js layers format (`model.json` + `weights.bin`) from
 * Node without tfjs-node: an IOHandler that writes/reads plain files. The folder is written under a
 * temporary name and renamed into place when complete (core/atomic.ts), so a crash
 * never leaves a half-written model. The model's metadata (spec, input normalisation, training
 * scheme, dose range, channels, nanodose version) is stored in model.json's `userDefinedMetadata`
 * under the key `nanodose`; the same folder loads in a browser with `tf.loadLayersModel(url)`.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAtomicPath } from '../core/atomic.ts';
import { ConfigError } from '../core/validate.ts';
import { type ModelSpec, validateModelSpec } from './networks/spec.ts';
import { buildModel } from './networks/build.ts';

export interface ModelMetadata {
  spec: ModelSpec;
  /** How inputs were normalised before the network, e.g. { kind: 'scale', scale: 0.01 } or { kind: 'anscombe' }. */
  normalisation: { kind: string; [k: string]: unknown };
  /** Training scheme, e.g. 'supervised', 'n2n-binomial', 'n2n-frames', 'n2v'. */
  scheme: string;
  /** Dose per projection (e-/A^2) the model was trained over. */
  doseRange?: [number, number];
  /** Input channel names (e.g. ['HAADF', 'Au', 'Ag']). */
  channels: string[];
  nanodoseVersion: string;
  [k: string]: unknown;
}

let cachedVersion: string | undefined;
/** The nanodose version from package.json. */
export function nanodoseVersion(): string {
  if (!cachedVersion) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  return new Uint8Array(Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data);
}

/** An IOHandler writing `model.json` + `weights.bin` into `dir` (atomically), with `metadata` inside. */
export function fileSaveHandler(dir: string, metadata?: ModelMetadata): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const weights = weightBytes(artifacts.weightData);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: { ...(artifacts.userDefinedMetadata ?? {}), ...(metadata ? { nanodose: metadata } : {}) },
      };
      if (artifacts.trainingConfig) modelJSON.trainingConfig = artifacts.trainingConfig;
      await withAtomicPath(dir, (tmp) => {
        mkdirSync(tmp, { recursive: true });
        writeFileSync(join(tmp, 'weights.bin'), weights);
        writeFileSync(join(tmp, 'model.json'), JSON.stringify(modelJSON));
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** Bytes per value of a stored weight (its quantized type when quantized). */
function storedBytes(w: tf.io.WeightsManifestEntry): number {
  const q = w.quantization?.dtype;
  if (q) return q === 'uint8' ? 1 : 2;
  return w.dtype === 'bool' ? 1 : w.dtype === 'complex64' ? 8 : 4;
}

/** An IOHandler reading a folder written by `fileSaveHandler` (or any tfjs layers model.json + weights). */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const jsonPath = join(dir, 'model.json');
      if (!existsSync(jsonPath)) throw new ConfigError(jsonPath, `missing: no model at ${dir} (give a folder with model.json + weights.bin)`);
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new ConfigError(jsonPath, `not a readable model.json (${(e as Error).message})`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs = manifest.flatMap((g) => g.weights);
        const paths = manifest.flatMap((g) => g.paths);
        const buffers = paths.map((p) => {
          const f = join(dir, p);
          if (!existsSync(f)) throw new ConfigError(f, 'missing (model.json names it as weights)');
          const b = readFileSync(f);
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
        });
        // A truncated or padded weights file otherwise fails deep inside tfjs ("byte length of Float32Array...").
        const want = specs.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * storedBytes(w), 0);
        const got = buffers.reduce((a, b) => a + b.byteLength, 0);
        if (got !== want) throw new ConfigError(paths.map((p) => join(dir, p)).join(', '), `${got} bytes, model.json's ${specs.length} weights need ${want} (truncated or damaged; save the model again)`);
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** Saves the model and its metadata to `dir` (model.json + weights.bin), atomically. */
export async function saveModel(model: tf.LayersModel, dir: string, metadata: ModelMetadata): Promise<void> {
  const meta = { ...metadata, spec: validateModelSpec(metadata.spec, 'metadata.spec'), nanodoseVersion: metadata.nanodoseVersion || nanodoseVersion() };
  await model.save(fileSaveHandler(dir, meta));
}

/**
 * Checks a model folder without loading it (so a command can refuse a bad one before any work):
 * model.json readable with nanodose metadata, every weights file present with the bytes model.json's
 * weights need. A training run folder (out/best, out/last) resolves to its best model. Returns the
 * folder holding model.json and the metadata; throws one line naming the file otherwise.
 */
export function checkModelFolder(dir: string): { dir: string; metadata: ModelMetadata } {
  if (!existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'best', 'model.json'))) dir = join(dir, 'best');
  const jsonPath = join(dir, 'model.json');
  if (!existsSync(dir)) throw new ConfigError(dir, `no such model folder (give a train --out folder or a folder with model.json + weights.bin)`);
  if (!existsSync(jsonPath)) throw new ConfigError(dir, `not a model folder (no model.json, nor best/model.json of a train --out folder)`);
  let modelJSON: tf.io.ModelJSON;
  try {
    modelJSON = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new ConfigError(jsonPath, `not a readable model.json (${(e as Error).message})`);
  }
  const metadata = (modelJSON.userDefinedMetadata as { nanodose?: ModelMetadata } | undefined)?.nanodose;
  if (!metadata) throw new ConfigError(jsonPath, `has no nanodose metadata (userDefinedMetadata.nanodose): not saved by nanodose's saveModel`);
  const manifest = modelJSON.weightsManifest ?? [];
  const specs = manifest.flatMap((g) => g.weights);
  const files = manifest.flatMap((g) => g.paths).map((p) => join(dir, p));
  for (const f of files) if (!existsSync(f)) throw new ConfigError(f, 'missing (model.json names it as weights)');
  const want = specs.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * storedBytes(w), 0);
  const got = files.reduce((a, f) => a + statSync(f).size, 0);
  if (got !== want) throw new ConfigError(files.join(', '), `${got} bytes, model.json's ${specs.length} weights need ${want} (truncated or damaged; save the model again)`);
  return { dir, metadata };
}

/**
 * Loads a model saved by `saveModel`; the metadata comes back with it. A training run folder
 * (training/: out/best, out/last) resolves to its best model when `dir/model.json` is absent.
 */
export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; metadata: ModelMetadata }> {
  const checked = checkModelFolder(dir);
  const model = await tf.loadLayersModel(fileLoadHandler(checked.dir));
  return { model, metadata: checked.metadata };
}

/** Rebuilds a fresh (untrained) model from saved metadata's spec: used by workers that receive weights separately. */
export function rebuildFromMetadata(metadata: ModelMetadata): tf.LayersModel {
  return buildModel(validateModelSpec(metadata.spec, 'metadata.spec'));
}

/**
 * Names of a model's output channels: the input channels' names when there are as many outputs as
 * inputs; else `metadata.outputChannels` when recorded; else the last `outC` inputs (a HAADF-guided
 * model lists its guide first). Used by `denoise` and `eval --data` to label what a model returns.
 */
export function outputChannelNames(metadata: ModelMetadata | undefined, inC: number, outC: number): string[] {
  const mChans = metadata?.channels ?? [];
  const oc = (metadata as { outputChannels?: unknown } | undefined)?.outputChannels;
  return outC === inC ? mChans.slice(0, inC) : Array.isArray(oc) ? oc.map(String) : mChans.slice(inC - outC);
}
