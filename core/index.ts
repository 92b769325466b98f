/**
 * nanodose's shared core: what every folder (generators, datasets, models, training, eval, scripts) uses and
 * nothing above it. It imports no other nanodose folder.
 *
 *   random    seeded random streams derived per sample (`stream(seed, ...keys)`), Poisson/binomial/gamma draws
 *   validate  ConfigError (a user's mistake: exit 2), InternalError (a bug: exit 1) and the field checkers
 *   finite    first non-finite value of an array, reported with its index
 *   atomic    write to a temporary name, rename when complete
 *   progress  cli-progress bar on a terminal, plain log lines otherwise
 *   threads   the thread count every parallel stage uses (--workers > --threads > NANODOSE_THREADS > cores)
 *   plot      vega-lite -> SVG -> PNG
 */
export { RandomStream, deriveSeed, stream, quaternionToMatrix, logGamma } from './random.ts';
export type { Seed, Quaternion } from './random.ts';
export { ConfigError, InternalError, isInternalError, checkNumber, checkRange, checkChoice, checkKnownKeys } from './validate.ts';
export { firstNonFinite, unravel, checkFinite } from './finite.ts';
export type { FiniteCheck } from './finite.ts';
export { checkWritable, temporaryPath, writeFileAtomic, withAtomicPath } from './atomic.ts';
export { progress } from './progress.ts';
export type { Progress, ProgressOptions } from './progress.ts';
export { MAX_THREADS, parseThreads, setThreads, defaultThreads, resolveThreads, announceThreads, describeThreads } from './threads.ts';
export type { ThreadSource } from './threads.ts';
export { renderSvg, svgToPng } from './plot.ts';
export type { VegaLiteSpec } from './plot.ts';
