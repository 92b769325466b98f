/**
 * nanodose datasets: HDF5 (EMD 0.2) shards, MRC 2014 / TIFF / .tlt files, sharded resumable
 * generation, and the reader that training and evaluation use.
 *
 *   const ds = await openDataset('data/train');           // a directory (manifest.json) or one .h5 shard
 *   for (const i of ds.indices('train')) { const s = await ds.readSample(i, ['noisy', 'clean']); ... }
 *   const batch = await ds.randomPatches({ count: 16, size: 64, split: 'train', seed: 1, step });
 */
export { openDataset, type DatasetReader, type SampleData, type PatchOptions, type PatchBatch } from './reader.ts';
export { generateDataset, generatorVersion, type GenerateOptions } from './generate.ts';
export { readImageStack, type ImageStack } from './formats/imagestack.ts';
export { writeTiffStack } from './formats/tiff/tiff.ts';
export { writeMrc, readMrc, writeTlt, readTlt, parseMrcHeader, mrcHeader, arrayStats, type MrcHeader, type MrcWriteOptions } from './formats/mrc/mrc.ts';
export { ShardReader, ShardWriter, h5ready, GENERATOR, type ShardLayout, type ShardInfo, type SampleRecord, type SampleField, type ShardSampleMeta } from './formats/hdf5/emd.ts';
export { readManifest, sha256File, MANIFEST, type Manifest, type ShardRecord } from './manifest.ts';
export { shardFiles, shardFileName, shardFileCount, jobFiles, parseShardSpec, assignSplit, SPLITS, type Split, type ShardFile } from './shards.ts';
export { defaultFileOptions, validateFileOptions, FILE_OPTION_DOCS, COUNT_FILTERS, type DatasetFileOptions, type StoreOptions, type SplitFractions, type CompressionOptions } from './options.ts';
export { exportSample, type ExportWhat } from './export.ts';
export { writePngGrey, toGrey8, centralSlices } from './preview.ts';
export { loadSource, DEFAULT_SOURCE, type SampleSource, type SourceModule } from './source.ts';
export { defaultDatasetConfig, validateDatasetConfig, CONFIG_DOCS, type DatasetConfig } from './config.ts';
