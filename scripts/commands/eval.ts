/**
 * `nanodose eval --data DIR --methods raw,gaussian,tv,anscombe,model:PATH,fused,gaussian+fused --doses 1e2:1e5:7
 * --recon sirt:100 --out REPORTDIR`: the dose-efficiency evaluation (eval/harness/run.ts), resumable.
 * Joint HAADF + EDX methods (fused, bimodal, tnv) bring their own reconstruction; DENOISER+JOINT
 * puts a denoiser before one.
 *
 * `nanodose eval --data FILE --out DIR` on a user's tilt series (any reader-layer format, no ground
 * truth): the denoisers scored by held-out counts, per-frame data split by frames, single-frame
 * counts by binomial thinning (eval/heldout/run.ts); OUT/scores.csv and OUT/scores.json.
 */
import type { CommandModule } from 'yargs';
import { alignOptions, type AlignArgs } from '../../eval/align/options.ts';
import { ConfigError } from '../../core/validate.ts';

interface Args extends AlignArgs {
  data: string;
  split: string;
  methods?: string;
  channels?: string;
  dataset?: string;
  frames?: number;
  'input-frames'?: number;
  thinning?: number;
  'count-scale'?: number;
  tlt?: string;
  doses: string;
  recon: string;
  out: string;
  seed?: string;
  phantoms?: number;
  workers?: number;
  'block-workers'?: number;
  bootstrap: number;
  metric: string;
  'raw-extra-decades': number;
  protocols: boolean;
  'total-dose'?: number;
  quiet: boolean;
  shard?: string;
  backend: string;
  reference: string;
}

export const command: CommandModule<object, Args> = {
  command: 'eval',
  describe: 'Score denoisers by dose efficiency: noisy tilt series at each dose -> denoise -> reconstruct -> metrics, DRF vs raw, report',
  builder: (y) =>
    alignOptions(y, { offsetMeaning: "each sample's clean series is moved so the axis lands on the centre" })
      .option('data', { type: 'string', demandOption: true, describe: "dataset directory or .h5 shard (clean expected counts and phantoms stored), or a user's tilt series (.mrc .tif .mat .emd .hspy .h5, or HAADF=a.mrc,Au=b.mrc): its denoisers scored by held-out counts, no ground truth needed" })
      .option('split', { type: 'string', default: 'test', choices: ['train', 'val', 'test'] })
      .option('methods', { type: 'string', describe: "default raw,gaussian,anscombe (a dataset) or raw,gaussian,median,tv,anscombe (a user's file). Comma list of raw, gaussian, median, box, tv, anscombe, trained models as model:PATH (a train --out folder), joint HAADF + EDX reconstructions fused[:iterations[:tv]], bimodal[:iterations[:alpha]], tnv[:iterations[:weight]] (they bring their own reconstruction; a weight left out is tuned per dose on validation phantoms), haadf-quant[:physical] (quantitative HAADF tomography: two-element concentrations from the HAADF alone, no EDX; its warnings, e.g. Au/Pt ill-conditioning, go to summary.json and the report), DENOISER+JOINT (e.g. gaussian+fused, model:PATH+fused: the denoiser before the joint method), and LABEL=METHOD to name one in the report (e.g. n2n=model:runs/n2n)" })
      .option('doses', { type: 'string', default: '1e2:1e5:7', describe: "dose per projection (e/A^2) sweep 'lo:hi:n' (log-spaced) or a comma list" })
      .option('recon', { type: 'string', default: 'sirt:100', describe: 'reconstruction of the methods that do not bring their own: sirt[:iterations] | fbp[:filter] | tv[:iterations[:mu]]' })
      .option('reference', { type: 'string', default: 'gaussian', describe: "method the DRF is also read against besides raw (evaluated up to a decade above the sweep); 'none' for none; used when listed in --methods" })
      .option('out', { type: 'string', demandOption: true, describe: 'report folder (results.csv, summary.json, plots/, report.html)' })
      .option('seed', { type: 'string', describe: "noise seed (default: the dataset's seed)" })
      .option('phantoms', { type: 'number', describe: 'evaluate at most this many phantoms of the split' })
      .option('workers', { type: 'number', describe: 'projector + SIRT threads of each block worker (default --threads / block workers)' })
      .option('block-workers', { type: 'number', describe: '(phantom, dose) groups evaluated at once, each in its own worker thread (default --threads; 1: in this thread); results are byte-identical for any number' })
      .option('bootstrap', { type: 'number', default: 1000, describe: 'bootstrap resamples for the DRF intervals' })
      .option('raw-extra-decades', { type: 'number', default: 2, describe: 'also evaluate raw this many decades above the sweep (its log step), to read off the dose raw needs to match a denoiser' })
      .option('metric', { type: 'string', default: 'psnr', describe: 'metric the dose-reduction factor is read on (psnr, ssim3d, nrmse, dice, map_psnr, ...)' })
      .option('protocols', { type: 'boolean', default: false, describe: 'protocol mode: compare tilt schemes and detector solid angle at a fixed total dose' })
      .option('total-dose', { type: 'number', describe: 'protocol mode: total dose over the tilt series (e/A^2); default the geometric middle of --doses x tilts' })
      .option('shard', { type: 'string', describe: "evaluate part i of k of the (phantom, dose) grid, 0 <= i < k, into its own --out (a job array); merge the parts with 'nanodose report PART_DIR... --out DIR'" })
      .option('backend', { type: 'string', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], describe: 'TensorFlow.js backend for model:PATH methods' })
      .option('quiet', { type: 'boolean', default: false })
      .option('channels', { type: 'string', describe: "user file: the channels to score, comma list (default every channel but the HAADF)" })
      .option('dataset', { type: 'string', describe: 'user file: the array inside an HDF5 file' })
      .option('frames', { type: 'number', describe: 'user file: frames per view, the stack holding K consecutive frames of each view (default: from repeated tilt angles, else 1)' })
      .option('input-frames', { type: 'number', describe: 'user file with K >= 2 frames per view: the first N frames of each view are the input, the rest held out (default floor(K/2))' })
      .option('thinning', { type: 'number', describe: "user file with one frame per view: the input's binomial-thinning share p of the counts, the rest held out (default 0.5)" })
      .option('count-scale', { type: 'number', describe: 'user file: counts = value x S, for data scaled after counting (held-out scoring needs integer counts)' })
      .option('tlt', { type: 'string', describe: "user file: tilt angles file, only to find frames per view (default the file's angles, else a .tlt beside it)" }),
  handler: async (a) => {
    if (await isUserFile(a)) {
      const { evaluateUserFile } = await import('../../eval/heldout/run.ts');
      const seed = a.seed === undefined ? 0 : Number(a.seed);
      await evaluateUserFile({ data: a.data, dataset: a.dataset, channels: a.channels?.split(',').map((c) => c.trim()).filter(Boolean), methods: a.methods ?? 'raw,gaussian,median,tv,anscombe', frames: a.frames, inputFrames: a['input-frames'], thinning: a.thinning, countScale: a['count-scale'], seed, tlt: a.tlt, out: a.out, backend: a.backend, quiet: a.quiet });
      return;
    }
    const methods = a.methods ?? 'raw,gaussian,anscombe';
    const { runEvaluation } = await import('../../eval/harness/run.ts');
    // --align/--shifts/--axis-offset: each sample's clean series aligned before the noise is drawn (eval/align/cli.ts).
    const { withAlignment } = await import('../../eval/align/cli.ts');
    const { data, close } = await withAlignment(a.data, a, { log: a.quiet ? undefined : (l) => console.log(l) });
    try {
    const { formatDrf } = await import('../../eval/report/summary.ts');
    const doses = a.doses.includes(':') ? a.doses : a.doses.split(',').map((s) => {
      const v = Number(s);
      if (!(v > 0)) throw new ConfigError('doses', `'${s}' is not a dose > 0`);
      return v;
    });
    if (a.phantoms !== undefined && !(Number.isInteger(a.phantoms) && a.phantoms >= 1)) throw new ConfigError('phantoms', `must be an integer >= 1, got ${a.phantoms}`);
    const { parseThreads } = await import('../../core/threads.ts');
    if (a['block-workers'] !== undefined) parseThreads('--block-workers', a['block-workers']);
    if (a.workers !== undefined) parseThreads('--workers', a.workers);
    if (!(Number.isInteger(a.bootstrap) && a.bootstrap >= 10 && a.bootstrap <= 100000)) throw new ConfigError('bootstrap', `must be an integer in [10, 100000], got ${a.bootstrap}`);
    // every method is parsed (and a bad one refused) before any work
    const { parseMethods } = await import('../../eval/harness/denoise.ts');
    const listed = parseMethods(methods).some((m) => m.name === a.reference);
    const reference = a.reference === 'none' || !listed ? null : a.reference;
    if (a.protocols) {
      const { runProtocols } = await import('../../eval/harness/protocols.ts');
      await runProtocols({ data, split: a.split as 'test', methods, recon: a.recon, out: a.out, seed: a.seed, maxPhantoms: a.phantoms, workers: a.workers, totalDose: a['total-dose'], doses, quiet: a.quiet });
      return;
    }
    if (a.shard !== undefined) {
      const { parseShard } = await import('../../eval/report/merge.ts');
      const shard = parseShard(a.shard);
      if (shard.count > 1) {
        if (a.protocols) throw new ConfigError('shard', 'protocol mode is not sharded; run it in one process');
        const { evaluateShard } = await import('../../eval/harness/run.ts');
        await evaluateShard({ data, split: a.split as 'test', methods, doses, recon: a.recon, out: a.out, seed: a.seed, maxPhantoms: a.phantoms, workers: a.workers, blockWorkers: a['block-workers'], bootstrap: a.bootstrap, drfMetric: a.metric, rawExtraDecades: a['raw-extra-decades'], quiet: a.quiet, backend: a.backend, reference, shard });
        return;
      }
    }
    const r = await runEvaluation({ data, split: a.split as 'test', methods, doses, recon: a.recon, out: a.out, seed: a.seed, maxPhantoms: a.phantoms, workers: a.workers, blockWorkers: a['block-workers'], bootstrap: a.bootstrap, drfMetric: a.metric, rawExtraDecades: a['raw-extra-decades'], quiet: a.quiet, backend: a.backend, reference });
    if (!a.quiet) {
      const { headlineSentence } = await import('../../eval/report/summary.ts');
      console.log(headlineSentence(r.summary));
      for (const [m, byEl] of Object.entries(r.summary.headline)) for (const [e, h] of Object.entries(byEl)) {
        console.log(`${m.padEnd(12)} ${e.padEnd(4)} dose-reduction factor vs raw (${r.summary.drfMetric}): ${formatDrf(h)}`);
      }
      const v = r.summary.vsReference;
      if (v) for (const [m, byEl] of Object.entries(v.headline)) for (const [e, h] of Object.entries(byEl)) {
        console.log(`${m.padEnd(12)} ${e.padEnd(4)} dose-reduction factor vs ${v.method} (${r.summary.drfMetric}): ${formatDrf(h)}`);
      }
      console.log(`report: ${r.out}/report.html`);
    }
    } finally { await close(); }
  },
};

/** Options that only apply to one kind of --data: refused on the other, naming the option. */
const USER_ONLY = ['channels', 'dataset', 'frames', 'input-frames', 'thinning', 'count-scale', 'tlt'] as const;
const DATASET_ONLY = ['phantoms', 'workers', 'block-workers', 'total-dose', 'shard', 'shifts', 'axis-offset', 'write-shifts', 'align-rotation'] as const;

/** True for a user's tilt series (not a nanodose dataset); checks that the options fit the kind of data. */
async function isUserFile(a: Args): Promise<boolean> {
  const fm = await import('../../datasets/formats/index.ts');
  const user = fm.isChannelFileSpec(a.data) || (await fm.detectFormat(a.data)) !== 'nanodose-dataset';
  if (user) {
    const bad = DATASET_ONLY.find((k) => a[k] !== undefined) ?? (a.protocols ? 'protocols' : a.align ? 'align' : undefined);
    if (bad) throw new ConfigError(bad, `applies to a nanodose dataset; ${a.data} is a user's tilt series (scored by held-out counts: denoisers only, no reconstruction)`);
    if (a.seed !== undefined && !/^-?\d+$/.test(a.seed)) throw new ConfigError('seed', `on a user's file an integer (the thinning and bootstrap seed), got '${a.seed}'`);
  } else {
    const bad = USER_ONLY.find((k) => a[k] !== undefined);
    if (bad) throw new ConfigError(bad, `applies to a user's tilt-series file; ${a.data} is a nanodose dataset`);
  }
  return user;
}
