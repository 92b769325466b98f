/**
 * `nanodose train --data DIR --scheme SCHEME --out MODELDIR [--model unet --depth 3 --filters 16 |
 * --model-config JSON] [--epochs --steps --batch --patch --lr --loss --dose lo:hi --noise fresh|fixed
 * --seed --resume --workers --backend --channels | --inputs HAADF,Au,Ag --outputs Au,Ag]`: trains a denoiser (training/loop.ts) and writes
 * MODELDIR/best, MODELDIR/last, log.jsonl, learning-curve.csv/.svg/.png, train-config.json.
 *
 * `--data FILE` (any format of datasets/formats, or one file per channel HAADF=a.mrc,Au=b.mrc, also
 * given as --channels) trains self-supervised on a user's own tilt series (training/user-data.ts):
 * n2n-thinning, n2n-frames or blind-spot on the stored counts, whole views held out for validation
 * (--val-views), --count-scale for data scaled after counting, --frames for per-frame stacks; it
 * writes MODELDIR/user-data.json (the file, channels, split) as well.
 */
import type { CommandModule } from 'yargs';
import { readFileSync, existsSync } from 'node:fs';
import { ConfigError } from '../../core/validate.ts';

interface Args {
  data?: string;
  dataset?: string;
  'count-scale'?: number;
  frames?: number;
  'val-views'?: number;
  tlt?: string;
  'mask-nonfinite': boolean;
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
  if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v))) throw new ConfigError(field, `give 'low:high', got '${s}'`);
  return [parts[0], parts[1]];
}

export const command: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train a denoiser: supervised, n2n-thinning (binomial Noise2Noise), n2n-frames (even/odd frames) or blind-spot (Noise2Void)',
  builder: (y) =>
    y
      .option('data', { type: 'string', describe: "nanodose dataset (directory or .h5 shard), or a user's tilt series: .mrc .tif .mat .emd .hspy .h5, or one file per channel HAADF=a.mrc,Au=b.mrc" })
      .option('dataset', { type: 'string', describe: 'user file: path of the array inside an HDF5 file, e.g. /data/tilt/data' })
      .option('count-scale', { type: 'number', describe: 'user file: counts = value x S, for data scaled after counting (n2n-thinning needs integer counts; the error suggests S when the data shows it)' })
      .option('frames', { type: 'number', describe: 'user file: frames per view, the stack holding K consecutive frames of each view (default: from repeated tilt angles, else 1); n2n-frames needs K >= 2' })
      .option('val-views', { type: 'number', describe: "user file: whole views held out for validation, never trained on (default views/6, at least 1)" })
      .option('tlt', { type: 'string', describe: "user file: tilt angles file (default: the file's own angles, else a .tlt beside it)" })
      .option('mask-nonfinite', { type: 'boolean', default: false, describe: 'user file: set NaN/infinite values to 0 and report how many (default: refuse the file)' })
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
      .option('dose', { type: 'string', describe: "input dose range per projection 'lo:hi' e/Å² for fresh noise (default: stored dose /4 to x4): the input at dose d is Poisson(stored expected counts x d / D), D the sample's stored dose. In counts mode (acquisition.mode counts) the EDX counts follow no dose and D is the HAADF's acquisition.dose (inspect prints it): --dose lo:hi is then lo/D .. hi/D x the stored counts per pixel" })
      .option('noise', { type: 'string', choices: ['fresh', 'fixed'], describe: 'fresh Poisson from clean each step (default with clean) or only the stored counts/frames' })
      .option('thinning', { type: 'string', describe: "n2n-thinning: p range 'lo:hi' (default 0.3:0.7)" })
      .option('seed', { type: 'string', describe: 'seed (default 0)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from last/' })
      .option('workers', { type: 'number', describe: 'data-parallel workers on wasm (default --threads)' })
      .option('backend', { type: 'string', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] })
      .option('channels', { type: 'string', describe: "comma list of element channels (default all elements; one pooled network); a user file: the one channel to train on, or one file per channel NAME=FILE,..." })
      .option('inputs', { type: 'string', describe: 'multi-channel network: input channels by name, e.g. HAADF,Au,Ag (the HAADF is a guide, given whole)' })
      .option('outputs', { type: 'string', describe: 'multi-channel network: output element channels, e.g. Au,Ag (default: every element input)' })
      .option('val-projections', { type: 'number', describe: 'validation projections (default 8; 32 for the self-supervised schemes, whose checkpoint criterion needs more held-out counts)' })
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
        throw new ConfigError('model-config', `not JSON (${(e as Error).message})`);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('model-config', 'must be a JSON object (a partial model spec)');
      model = { ...model, ...(parsed as Record<string, unknown>) };
    }
    const seed = a.seed === undefined ? undefined : /^-?\d+$/.test(a.seed) ? Number(a.seed) : a.seed;
    const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);
    const user = await userData(a, list);
    const { train } = await import('../../training/index.ts');
    if (user && user.summary.masked) console.error(`${user.summary.file}: ${user.summary.masked} non-finite value(s) set to 0 (--mask-nonfinite)`);
    if (user && !a.quiet) console.log(`training on ${user.line}`);
    // One ETA over every epoch (and their validation passes) beside each epoch's own.
    const { startOverall } = await import('../../core/progress.ts');
    const job = startOverall('train', [{ name: 'train' }]);
    job.begin('train');
    const r = await train({
      data: user ? user.source : a.data!,
      scheme: a.scheme as 'supervised',
      out: a.out,
      model,
      channels: user ? undefined : list(a.channels),
      inputs: list(a.inputs),
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
      valProjections: user ? user.summary.valViews.length : a['val-projections'],
      patience: a.patience,
      quiet: a.quiet,
    }).finally(() => job.end());
    if (user) {
      const { writeFileAtomic } = await import('../../core/atomic.ts');
      const { join, resolve } = await import('node:path');
      writeFileAtomic(join(r.out, 'user-data.json'), JSON.stringify({ kind: 'nanodose-user-data', ...user.summary, file: user.summary.file.split(',').map((f) => (f.includes('=') ? f.replace(/=(.*)$/, (_, p) => `=${resolve(p)}`) : resolve(f))).join(',') }, null, 2) + '\n');
    }
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

/**
 * A user's tilt series (not a nanodose dataset): read and split by training/user-data.ts, after the
 * options that do not apply to it are refused. Undefined for a nanodose dataset.
 */
async function userData(a: Args, list: (v: string | undefined) => string[] | undefined): Promise<import('../../training/user-data.ts').UserData | undefined> {
  const { ConfigError } = await import('../../core/validate.ts');
  const fm = await import('../../datasets/formats/index.ts');
  const perFileChannels = a.channels !== undefined && fm.isChannelFileSpec(a.channels);
  if (perFileChannels && a.data !== undefined) throw new ConfigError('data', 'give either --data or one file per channel with --channels NAME=FILE,..., not both');
  if (a.data === undefined && !perFileChannels) throw new ConfigError('data', 'name the training data: a nanodose dataset, a tilt-series file, or one file per channel (HAADF=a.mrc,Au=b.mrc)');
  const data = perFileChannels ? a.channels! : a.data!;
  const userOnly = (['dataset', 'count-scale', 'frames', 'val-views', 'tlt'] as const).filter((k) => a[k] !== undefined);
  let isUser = fm.isChannelFileSpec(data);
  if (!isUser) {
    const { existsSync } = await import('node:fs');
    // A missing path: a user's file when a user-file option says so, else train() reports it (after the other options).
    if (!existsSync(data)) isUser = userOnly.length > 0;
    else isUser = (await fm.detectFormat(data)) !== 'nanodose-dataset';
  }
  if (!isUser) {
    if (userOnly.length) throw new ConfigError(userOnly[0], `applies to a user's tilt-series file; ${data} is a nanodose dataset`);
    return undefined;
  }
  if (a.noise === 'fresh' || a.dose !== undefined) throw new ConfigError(a.dose !== undefined ? 'dose' : 'noise', `${data} is a user's tilt series: training uses its stored counts (noise 'fixed'); fresh noise and --dose need a simulated dataset's clean signal`);
  if (a['val-projections'] !== undefined) throw new ConfigError('val-projections', `on a user's file the validation set is whole held-out views: give --val-views`);
  const { userTrainingData } = await import('../../training/user-data.ts');
  return userTrainingData({
    data,
    dataset: a.dataset,
    scheme: a.scheme as 'blind-spot',
    channels: perFileChannels ? undefined : list(a.channels),
    inputs: list(a.inputs),
    countScale: a['count-scale'],
    frames: a.frames,
    valViews: a['val-views'],
    tlt: a.tlt,
    maskNonFinite: a['mask-nonfinite'],
  });
}
