/**
 * `nanodose train --data DIR --scheme SCHEME --out MODELDIR [--model unet --depth 3 --filters 16 |
 * --model-config JSON] [--epochs --steps --batch --patch --lr --loss --dose lo:hi --noise fresh|fixed
 * --seed --resume --workers --backend --channels | --inputs HAADF,Au,Ag --outputs Au,Ag]`: trains a denoiser (training/loop.ts) and writes
 * MODELDIR/best, MODELDIR/last, log.jsonl, learning-curve.csv/.svg/.png, train-config.json.
 */
import type { CommandModule } from 'yargs';
import { readFileSync, existsSync } from 'node:fs';

interface Args {
  data: string;
  scheme: string;
  out: string;
  model?: string;
  depth?: number;
  filters?: number;
  'batch-norm'?: boolean;
  'model-config'?: string;
  epochs?: number;
  steps?: number;
  batch?: number;
  patch?: number;
  lr?: number;
  loss?: string;
  dose?: string;
  noise?: string;
  thinning?: string;
  seed?: string;
  resume: boolean;
  workers?: number;
  backend: string;
  channels?: string;
  inputs?: string;
  outputs?: string;
  'val-projections'?: number;
  patience?: number;
  quiet: boolean;
}

function pair(field: string, s: string): [number, number] {
  const parts = s.split(':').map(Number);
  if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v))) throw new Error(`${field}: give 'low:high', got '${s}'`);
  return [parts[0], parts[1]];
}

export const command: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train a denoiser: supervised, n2n-thinning (binomial Noise2Noise), n2n-frames (even/odd frames) or blind-spot (Noise2Void)',
  builder: (y) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: 'dataset directory or .h5 shard' })
      .option('scheme', { type: 'string', demandOption: true, choices: ['supervised', 'n2n-thinning', 'n2n-frames', 'blind-spot'] })
      .option('out', { type: 'string', demandOption: true, describe: 'model folder: best/, last/, log.jsonl, learning-curve.csv/.svg/.png, train-config.json' })
      .option('model', { type: 'string', describe: 'architecture: unet (default), dncnn, tiny' })
      .option('depth', { type: 'number', describe: 'U-Net resolution levels (default 4) / DnCNN conv layers (default 17) / tiny layers (default 3)' })
      .option('filters', { type: 'number', describe: 'U-Net first-level filters, doubling per level (default 32) / DnCNN filters per layer (default 64) / tiny (default 8)' })
      .option('batch-norm', { type: 'boolean', describe: 'batch normalisation (default: on for DnCNN, off for U-Net and tiny)' })
      .option('model-config', { type: 'string', describe: 'partial model spec as JSON text or a .json file (overrides --model/--depth/--filters)' })
      .option('epochs', { type: 'number', describe: 'epochs (default 30)' })
      .option('steps', { type: 'number', describe: 'optimizer steps per epoch (default 50)' })
      .option('batch', { type: 'number', describe: 'patches per step (default 16)' })
      .option('patch', { type: 'number', describe: 'patch edge in px, a multiple of 2^(depth-1) (default 64 or the map size)' })
      .option('lr', { type: 'number', describe: 'Adam learning rate, cosine-annealed to lr/100 (default 1e-3)' })
      .option('loss', { type: 'string', choices: ['mse', 'mae', 'poisson'], describe: 'training loss (default mse)' })
      .option('dose', { type: 'string', describe: "input dose range per projection 'lo:hi' e/Å² for fresh noise (default: stored dose /4 to x4)" })
      .option('noise', { type: 'string', choices: ['fresh', 'fixed'], describe: 'fresh Poisson from clean each step (default with clean) or only the stored counts/frames' })
      .option('thinning', { type: 'string', describe: "n2n-thinning: p range 'lo:hi' (default 0.3:0.7)" })
      .option('seed', { type: 'string', describe: 'seed (default 0)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from last/' })
      .option('workers', { type: 'number', describe: 'data-parallel workers on wasm (default --threads)' })
      .option('backend', { type: 'string', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] })
      .option('channels', { type: 'string', describe: 'comma list of element channels (default all elements; one pooled network)' })
      .option('inputs', { type: 'string', describe: 'multi-channel network: input channels by name, e.g. HAADF,Au,Ag (the HAADF is a guide, given whole)' })
      .option('outputs', { type: 'string', describe: 'multi-channel network: output element channels, e.g. Au,Ag (default: every element input)' })
      .option('val-projections', { type: 'number', describe: 'validation projections (default 8)' })
      .option('patience', { type: 'number', describe: 'early-stopping patience in epochs (default 10)' })
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    let model: Record<string, unknown> = {};
    if (a.model !== undefined) model.arch = a.model;
    if (a.depth !== undefined) model.depth = a.depth;
    if (a.filters !== undefined) model.filters = a.filters;
    if (a['batch-norm'] !== undefined) model.batchNorm = a['batch-norm'];
    if (a['model-config'] !== undefined) {
      const text = existsSync(a['model-config']) ? readFileSync(a['model-config'], 'utf8') : a['model-config'];
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new Error(`model-config: not JSON (${(e as Error).message})`);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('model-config: must be a JSON object (a partial model spec)');
      model = { ...model, ...(parsed as Record<string, unknown>) };
    }
    const seed = a.seed === undefined ? undefined : /^-?\d+$/.test(a.seed) ? Number(a.seed) : a.seed;
    const { train } = await import('../../training/index.ts');
    // One ETA over every epoch (and their validation passes) beside each epoch's own.
    const { startOverall } = await import('../../core/progress.ts');
    const job = startOverall('train', [{ name: 'train' }]);
    job.begin('train');
    const r = await train({
      data: a.data,
      scheme: a.scheme as 'supervised',
      out: a.out,
      model,
      channels: a.channels?.split(',').map((s) => s.trim()).filter(Boolean),
      inputs: a.inputs?.split(',').map((s) => s.trim()).filter(Boolean),
      outputs: a.outputs?.split(',').map((s) => s.trim()).filter(Boolean),
      epochs: a.epochs,
      stepsPerEpoch: a.steps,
      batch: a.batch,
      patch: a.patch,
      lr: a.lr,
      loss: a.loss as 'mse' | undefined,
      doseRange: a.dose === undefined ? undefined : pair('dose', a.dose),
      noise: a.noise as 'fresh' | undefined,
      thinning: a.thinning === undefined ? undefined : pair('thinning', a.thinning),
      seed,
      resume: a.resume,
      workers: a.workers,
      backend: a.backend as 'auto',
      valProjections: a['val-projections'],
      patience: a.patience,
      quiet: a.quiet,
    }).finally(() => job.end());
    if (!a.quiet) {
      const b = r.best;
      console.log(
        `best epoch ${r.bestEpoch} of ${r.epochs}${r.stoppedEarly ? ' (stopped early)' : ''}: val loss ${b.valLoss.toPrecision(4)}` +
          `${b.psnr !== undefined ? `, PSNR ${b.psnr.toFixed(2)} dB vs noisy ${b.noisyPsnr?.toFixed(2)} dB, SSIM ${b.ssim?.toFixed(3)}` : ''}; ${r.imagesPerSecond.toPrecision(3)} images/s`,
      );
      const { relative, isAbsolute } = await import('node:path');
      const show = (p: string) => { const q = relative(process.cwd(), p); return q && !q.startsWith('..') && !isAbsolute(q) ? q : p; };
      console.log(`model: ${show(r.bestDir)} (evaluate with --methods model:${show(r.out)})`);
    }
  },
};
