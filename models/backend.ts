/**
 * Picks and initialises the TensorFlow.js backend, and says which one runs and why the others did not.
 *
 * Order for 'auto': `@tensorflow/tfjs-node-gpu` (CUDA) if installed and it loads, else
 * `@tensorflow/tfjs-node` (native TensorFlow, all cores), else WebAssembly (XNNPACK, SIMD) with the
 * missing/slow training kernels registered by `registerWasmTrainingKernels`. The native packages are
 * optional (dynamic import, never a hard dependency): `npm install @tensorflow/tfjs-node` (or
 * `-node-gpu` with CUDA) to use them. The pure-JS `cpu` backend is used only when asked for
 * explicitly: it is 20-100x slower and never chosen silently.
 *
 * Threads: the multi-threaded wasm build is disabled by tfjs in Node (tfjs issue #3830; the flag
 * WASM_HAS_MULTITHREAD_SUPPORT is false under Node) and, forced on with workarounds, gave only
 * 1.4-1.5x on 2 cores in the prototype, against ~2.0x for data parallelism over worker_threads with
 * one single-threaded wasm instance each. nanodose therefore runs wasm single-threaded per instance
 * and uses both cores through `models/parallel` (see scripts/bench/models.bench.ts for the figures).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { registerWasmTrainingKernels } from './kernels/register.ts';
import { ConfigError, InternalError } from '../core/validate.ts';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendOptions {
  backend?: BackendChoice;
  /** Threads per wasm instance; only 1 is effective in Node (see the module comment). */
  threads?: number;
  quiet?: boolean;
}

export interface BackendResult {
  /** The tfjs backend name now active: 'tensorflow' (tfjs-node / tfjs-node-gpu), 'wasm' or 'cpu'. */
  backend: string;
  /** Why this backend runs and why the others did not, one line. */
  reason: string;
  /** The package that provides it. */
  provider: string;
  threads: number;
}

const require = createRequire(import.meta.url);

/** Directory holding the tfjs-backend-wasm `.wasm` binaries, with a trailing slash (setWasmPaths prefix). */
export function wasmBinaryDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

function shortError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/Cannot find (package|module)/.test(msg) || (e as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return `failed to load (${msg.split('\n')[0].slice(0, 160)})`;
}

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | null> {
  try {
    await import(pkg);
    const ok = await tf.setBackend('tensorflow');
    if (!ok) return 'loaded but the tensorflow backend did not initialise';
    await tf.ready();
    return null;
  } catch (e) {
    return shortError(e);
  }
}

let wasmLoaded = false;
async function initWasm(threads: number): Promise<{ simd: boolean; threads: number; note: string }> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmLoaded) {
    wasm.setWasmPaths(wasmBinaryDir());
    wasm.setThreadsCount(Math.max(1, threads));
    wasmLoaded = true;
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new InternalError(`the WebAssembly backend did not initialise (binaries looked for in ${wasmBinaryDir()})`);
  await tf.ready();
  // After initialisation, so the native kernels' setup (cwrap) has run and they stay usable as fallbacks.
  registerWasmTrainingKernels();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const mt = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const got = mt ? wasm.getThreadsCount() : 1;
  const note = threads > 1 && got < threads ? `; ${threads} threads asked but tfjs runs the single-threaded wasm build in Node: use models/parallel (worker_threads data parallelism) for more cores` : '';
  return { simd, threads: got, note };
}

/**
 * Initialises the backend and returns which runs and why. Throws (never falls back to cpu) when a
 * forced backend cannot run; prints one line unless `quiet`.
 */
/**
 * The cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner (console.warn on its
 * first tensor write) stays off the terminal unless --debug (NANODOSE_DEBUG): this backend was asked
 * for and the CLI already says which one runs. Here, not only in the CLI's main thread
 * (scripts/cli-args.ts), because each worker thread of models/parallel has its own console.
 */
let cpuBannerHidden = false;
function hideCpuBanner(): void {
  if (cpuBannerHidden || process.env.NANODOSE_DEBUG) return;
  cpuBannerHidden = true;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('looks like you are running TensorFlow.js in Node.js')) return;
    warn(...args);
  };
}

export async function initBackend(opts: BackendOptions = {}): Promise<BackendResult> {
  const choice = opts.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice)) throw new ConfigError('backend', `must be one of ${BACKEND_CHOICES.join(', ')}; got ${JSON.stringify(choice)}`);
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new ConfigError('threads', `must be an integer in [1, 256], got ${threads}`);
  let result: BackendResult;
  const why: string[] = [];

  if (choice === 'cpu') {
    hideCpuBanner();
    await tf.setBackend('cpu');
    await tf.ready();
    result = { backend: 'cpu', provider: '@tensorflow/tfjs (pure JS)', threads: 1, reason: 'cpu forced with --backend cpu (pure JavaScript reference backend, slow)' };
  } else if (choice === 'tensorflow-gpu' || choice === 'tensorflow') {
    const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    const err = await tryNative(pkg);
    if (err) throw new ConfigError('backend', `${choice} was asked for but ${pkg} ${err}; install it with \`npm install ${pkg}\` or use --backend auto`);
    result = { backend: 'tensorflow', provider: pkg, threads: 0, reason: `${pkg} forced with --backend ${choice}` };
  } else {
    if (choice === 'auto') {
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
        const err = await tryNative(pkg);
        if (!err) {
          result = { backend: 'tensorflow', provider: pkg, threads: 0, reason: `${pkg} loaded${why.length ? ` (${why.join('; ')})` : ''}` };
          announce(result, opts.quiet);
          return result;
        }
        why.push(`${pkg.replace('@tensorflow/', '')}: ${err}`);
      }
    }
    const w = await initWasm(threads);
    const flavour = `${w.simd ? 'SIMD' : 'no SIMD'}, ${w.threads} thread${w.threads > 1 ? 's' : ''}`;
    const reason = choice === 'wasm' ? `wasm forced with --backend wasm${w.note}` : `${why.join('; ')}${w.note}`;
    result = { backend: 'wasm', provider: `@tensorflow/tfjs-backend-wasm (${flavour})`, threads: w.threads, reason };
  }
  announce(result, opts.quiet);
  return result;
}

let lastBanner = '';
/** Prints the backend line; once per process for the same backend (an evaluation builds many denoisers). */
function announce(result: BackendResult, quiet: boolean | undefined): void {
  const line = `[nanodose] backend: ${result.backend} via ${result.provider}: ${result.reason}`;
  if (quiet || line === lastBanner) return;
  lastBanner = line;
  console.log(line);
}
