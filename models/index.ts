/**
 * nanodose models: backend selection, wasm training kernels, denoising networks, save/load, memory
 * checks, and data-parallel training over worker_threads (models/parallel).
 */
export { initBackend, BACKEND_CHOICES, wasmBinaryDir, type BackendChoice, type BackendOptions, type BackendResult } from './backend.ts';
export { registerWasmTrainingKernels, unregisterWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/register.ts';
export { type ModelSpec, type Arch, type Activation, type Down, type Up, ARCHS, defaultModelSpec, validateModelSpec } from './networks/spec.ts';
export { buildModel, receptiveField, padMultiple, padForModel, cropTo, predictPadded } from './networks/build.ts';
export { saveModel, loadModel, fileSaveHandler, fileLoadHandler, rebuildFromMetadata, nanodoseVersion, outputChannelNames, type ModelMetadata } from './io.ts';
export { checkMemory, estimateMemory, activationFloatsPerPixel, MemoryError, WASM_HEAP_LIMIT_BYTES, type MemoryEstimate } from './memory.ts';
export { gradientsInMicroBatches, trainStepInMicroBatches, autoMicroBatch, type LossFn } from './microbatch.ts';
export { DataParallel, type DataParallelOptions, type ParallelGradients } from './parallel/engine.ts';
export { denoiseTiled, contextExtent, minimumOverlap, tileStarts, axisWeights, DEFAULT_TILE, DEFAULT_BLEND, DEFAULT_BATCH, type TileOptions } from './tiling.ts';
