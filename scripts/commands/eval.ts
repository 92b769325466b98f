/**
 * `nanodose eval --data DIR --methods raw,gaussian,tv,anscombe,model:PATH,fused,gaussian+fused --doses 1e2:1e5:7
 * --recon sirt:100 --out REPORTDIR`: the dose-efficiency evaluation (eval/harness/run.ts), resumable.
 * Joint HAADF + EDX methods (fused, bimodal, tnv) bring their own reconstruction; DENOISER+JOINT
 * puts a denoiser before one.
 */
import type { CommandModule } from 'yargs';
import { alignOptions, type AlignArgs } from '../../eval/align/options.ts';

interface Args extends AlignArgs {
  data: string;
  split: string;
  methods: string;
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
      .option('data', { type: 'string', demandOption: true, describe: 'dataset directory or .h5 shard (clean expected counts and phantoms stored)' })
      .option('split', { type: 'string', default: 'test', choices: ['train', 'val', 'test'] })
      .option('methods', { type: 'string', default: 'raw,gaussian,anscombe', describe: "comma list of raw, gaussian, median, box, tv, anscombe, trained models as model:PATH (a train --out folder), joint HAADF + EDX reconstructions fused[:iterations[:tv]], bimodal[:iterations[:alpha]], tnv[:iterations[:weight]] (they bring their own reconstruction; a weight left out is tuned per dose on validation phantoms), haadf-quant[:physical] (quantitative HAADF tomography: two-element concentrations from the HAADF alone, no EDX; its warnings, e.g. Au/Pt ill-conditioning, go to summary.json and the report), DENOISER+JOINT (e.g. gaussian+fused, model:PATH+fused: the denoiser before the joint method), and LABEL=METHOD to name one in the report (e.g. n2n=model:runs/n2n)" })
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
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { runEvaluation } = await import('../../eval/harness/run.ts');
    // --align/--shifts/--axis-offset: each sample's clean series aligned before the noise is drawn (eval/align/cli.ts).
    const { withAlignment } = await import('../../eval/align/cli.ts');
    const { data, close } = await withAlignment(a.data, a, { log: a.quiet ? undefined : (l) => console.log(l) });
    try {
    const { formatDrf } = await import('../../eval/report/summary.ts');
    const doses = a.doses.includes(':') ? a.doses : a.doses.split(',').map((s) => {
      const v = Number(s);
      if (!(v > 0)) throw new Error(`doses: '${s}' is not a dose > 0`);
      return v;
    });
    if (a.phantoms !== undefined && !(Number.isInteger(a.phantoms) && a.phantoms >= 1)) throw new Error(`phantoms: must be an integer >= 1, got ${a.phantoms}`);
    const { parseThreads } = await import('../../core/threads.ts');
    if (a['block-workers'] !== undefined) parseThreads('--block-workers', a['block-workers']);
    if (a.workers !== undefined) parseThreads('--workers', a.workers);
    if (!(Number.isInteger(a.bootstrap) && a.bootstrap >= 10 && a.bootstrap <= 100000)) throw new Error(`bootstrap: must be an integer in [10, 100000], got ${a.bootstrap}`);
    // every method is parsed (and a bad one refused) before any work
    const { parseMethods } = await import('../../eval/harness/denoise.ts');
    const listed = parseMethods(a.methods).some((m) => m.name === a.reference);
    const reference = a.reference === 'none' || !listed ? null : a.reference;
    if (a.protocols) {
      const { runProtocols } = await import('../../eval/harness/protocols.ts');
      await runProtocols({ data, split: a.split as 'test', methods: a.methods, recon: a.recon, out: a.out, seed: a.seed, maxPhantoms: a.phantoms, workers: a.workers, totalDose: a['total-dose'], doses, quiet: a.quiet });
      return;
    }
    if (a.shard !== undefined) {
      const { parseShard } = await import('../../eval/report/merge.ts');
      const shard = parseShard(a.shard);
      if (shard.count > 1) {
        if (a.protocols) throw new Error('shard: protocol mode is not sharded; run it in one process');
        const { evaluateShard } = await import('../../eval/harness/run.ts');
        await evaluateShard({ data, split: a.split as 'test', methods: a.methods, doses, recon: a.recon, out: a.out, seed: a.seed, maxPhantoms: a.phantoms, workers: a.workers, blockWorkers: a['block-workers'], bootstrap: a.bootstrap, drfMetric: a.metric, rawExtraDecades: a['raw-extra-decades'], quiet: a.quiet, backend: a.backend, reference, shard });
        return;
      }
    }
    const r = await runEvaluation({ data, split: a.split as 'test', methods: a.methods, doses, recon: a.recon, out: a.out, seed: a.seed, maxPhantoms: a.phantoms, workers: a.workers, blockWorkers: a['block-workers'], bootstrap: a.bootstrap, drfMetric: a.metric, rawExtraDecades: a['raw-extra-decades'], quiet: a.quiet, backend: a.backend, reference });
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
