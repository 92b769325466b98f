/**
 * `nanodose denoise INPUT --model DIR --out FILE`: applies a trained denoiser (models/io.ts
 * saveModel folder) to tilt series, projection by projection, with tiled inference
 * (models/tiling.ts denoiseTiled: whole-map normalisation, exact tiling, optional 8-fold tta).
 * `--method gaussian|median|box|tv|anscombe[:param]` applies a classical filter instead (no model);
 * a parameter left out is chosen from the data by binomial-thinning cross-validation
 * (eval/baselines tuneBaselineByThinning), per channel, and printed.
 *
 * INPUT: a nanodose dataset (directory or .h5 shard: `/data/tilt_noisy/data` or tilt_clean with
 * --field, [sample, channel, angle, row, col]); or any user file the reader layer reads
 * (datasets/formats: MRC, TIFF, MATLAB .mat, Velox .emd, HyperSpy .hspy, HDF5 with named channels
 * or --dataset naming one array), angles from the file or a .tlt beside it; or one file per channel,
 * `--channels HAADF=a.mrc,Au=b.mrc` (INPUT left out).
 * Channels: a single-channel model (or a classical method) is applied to each element channel (or
 * the one named by --channel; HAADF only when the model was trained on HAADF or --channel names
 * it); a multi-channel (HAADF-guided) model takes the channels listed in its metadata.channels,
 * a missing one is named, and --channel picks one of its outputs.
 * OUT by extension: `.h5` (EMD 0.2: /data/tilt_denoised with the input's angles, channel names,
 * pixel size, and attributes naming the model, its scheme and the tiling), `.mrc` (pixel size kept,
 * .tlt beside when the angles are known), `.tif/.tiff` (float32, .tlt beside). MRC and TIFF hold one
 * stack, so several (sample, channel) stacks go to OUT_<channel> or OUT_sample-NNNNN_<channel>.
 * Every file is written under a temporary name and renamed when complete; bad input is refused
 * (exit 2) before anything is written.
 */
import type { CommandModule } from 'yargs';
import { alignOptions, type AlignArgs } from '../../eval/align/options.ts';

interface Args extends AlignArgs {
  input?: string;
  model?: string;
  method?: string;
  channels?: string;
  out: string;
  dataset?: string;
  field: string;
  sample?: string;
  channel?: string;
  tile?: number;
  overlap?: number;
  tta: boolean;
  backend: string;
  quiet: boolean;
  'mask-nonfinite'?: boolean;
}

const OUT_EXT = ['.mrc', '.tif', '.tiff', '.h5', '.hdf5', '.emd'];

/** One tilt series to denoise: `input(angle)` gives the model's input [inChannels, rows, cols]. */
interface Job { sample?: number; channels: string[]; input: (angle: number) => Float32Array }

export const command: CommandModule<object, Args> = {
  command: 'denoise [input]',
  describe: 'Denoise tilt series (dataset, MRC/TIFF, .mat, Velox .emd, .hspy, HDF5) with a trained model or a classical filter; writes .h5, .mrc or .tif',
  builder: (y) =>
    alignOptions(y, { offsetMeaning: 'the output is moved so the axis lands on the centre' })
      .positional('input', { type: 'string', describe: 'dataset directory or .h5 shard, or a tilt series: .mrc/.tif (+ .tlt), .mat, .emd, .hspy, .h5 (leave it out when --channels gives NAME=FILE,... pairs)' })
      .option('model', { type: 'string', describe: 'a trained model: the --out folder of nanodose train (its best/ model), or a folder holding model.json + weights.bin' })
      .option('method', { type: 'string', describe: 'classical filter instead of a model: gaussian[:sigma] | median[:size] | box[:size] | tv[:weight] | anscombe[:sigma]; the parameter, when left out, by binomial-thinning cross-validation on the data' })
      .option('channels', { type: 'string', describe: 'channels to read by name (HAADF,Au), or one file per channel: HAADF=a.mrc,Au=b.mrc (angles from the files or a .tlt beside the first)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output file: .h5 (EMD), .mrc (+ .tlt) or .tif/.tiff (+ .tlt)' })
      .option('dataset', { type: 'string', describe: 'path of a 2-D/3-D array inside a user HDF5 file, e.g. /data/tilt/data' })
      .option('field', { type: 'string', default: 'noisy', choices: ['noisy', 'clean'], describe: 'which tilt series of a nanodose dataset' })
      .option('sample', { type: 'string', describe: "dataset sample index or 'all' (default: the first)" })
      .option('channel', { type: 'string', describe: 'one channel by name (default: every element channel the model applies to)' })
      .option('tile', { type: 'number', describe: 'tile edge in pixels (default 256; a map that fits runs whole)' })
      .option('overlap', { type: 'number', describe: "tile overlap in pixels (default: the model's minimum + 16; never below the minimum)" })
      .option('tta', { type: 'boolean', default: false, describe: 'average over the 8 rotations/reflections (8x slower)' })
      .option('backend', { type: 'string', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], describe: 'TensorFlow.js backend' })
      .option('mask-nonfinite', { type: 'boolean', default: false, describe: 'set NaN/infinite input values to 0 and report how many (default: refuse the input)' })
      .option('quiet', { type: 'boolean', default: false })
      .group(['align', 'align-rotation', 'shifts', 'axis-offset', 'write-shifts'], 'Alignment (user files; the output is the aligned series with the tilt axis at the detector centre):'),
  handler: async (a) => {
    const { existsSync, statSync } = await import('node:fs');
    const { extname } = await import('node:path');
    const { ConfigError } = await import('../../core/validate.ts');
    // The closing line splits the time: start-up (TensorFlow.js, backend, model, reading) was hidden before.
    const { phases, status } = await import('../../core/progress.ts');
    const time = phases({ start: 0 }); // from the process start
    // --- arguments that need no file
    const outExt = extname(a.out).toLowerCase();
    if (!OUT_EXT.includes(outExt)) throw new ConfigError('out', `unknown output format '${outExt || '(no extension)'}'; use one of ${OUT_EXT.join(', ')}`);
    for (const [k, v] of [['tile', a.tile], ['overlap', a.overlap]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new ConfigError(k, `must be an integer >= 1, got ${v}`);
    }
    let sampleSel: number | 'all' | undefined;
    if (a.sample !== undefined) {
      if (a.sample === 'all') sampleSel = 'all';
      else if (/^\d+$/.test(a.sample)) sampleSel = Number(a.sample);
      else throw new ConfigError('sample', `must be an integer >= 0 or 'all', got ${JSON.stringify(a.sample)}`);
    }
    const fm = await import('../../datasets/formats/index.ts');
    const perFile = a.channels !== undefined && fm.isChannelFileSpec(a.channels);
    if (perFile && a.input !== undefined) throw new ConfigError('input', `give either INPUT or --channels NAME=FILE,..., not both`);
    if (!perFile && a.input === undefined) throw new ConfigError('input', 'name the tilt series to denoise (or give one file per channel: --channels HAADF=a.mrc,Au=b.mrc)');
    if ((a.model === undefined) === (a.method === undefined)) throw new ConfigError(a.model ? 'method' : 'model', 'give either --model DIR or --method NAME[:param]');
    const { parseBaselineSpec } = await import('../../eval/baselines/index.ts');
    let classical: ReturnType<typeof parseBaselineSpec> | undefined;
    if (a.method !== undefined) {
      try { classical = parseBaselineSpec(a.method); } catch (e) { throw new ConfigError('method', (e as Error).message.replace(/^method: /, '')); }
      if (a.tta || a.tile !== undefined || a.overlap !== undefined) throw new ConfigError('method', '--tta, --tile and --overlap apply to a model, not a classical filter');
    }
    const inputName = perFile ? a.channels! : a.input!;
    if (!perFile && !existsSync(inputName)) throw new ConfigError('input', `${inputName}: no such file or directory`);
    if (a.model !== undefined && (!existsSync(a.model) || !statSync(a.model).isDirectory())) throw new ConfigError('model', `${a.model}: no such model folder`);
    let isStack: boolean;
    try {
      isStack = perFile || (await fm.detectFormat(inputName)) !== 'nanodose-dataset' || a.dataset !== undefined;
    } catch (e) {
      throw new ConfigError('input', (e as Error).message);
    }
    if (isStack && sampleSel !== undefined) throw new ConfigError('sample', `selects samples of a nanodose dataset; ${inputName} is a user's tilt series`);
    const wantNames = a.channels !== undefined && !perFile ? a.channels.split(',').map((c) => c.trim()).filter(Boolean) : undefined;

    // --- backend and model (a classical method needs neither: loading TensorFlow.js alone takes seconds)
    const loading = a.model !== undefined ? status('denoise: loading TensorFlow.js', { quiet: a.quiet }) : undefined;
    const models = a.model !== undefined ? await import('../../models/index.ts') : undefined;
    const tiling = a.model !== undefined ? await import('../../models/tiling.ts') : undefined;
    loading?.stop(); // initBackend prints the backend line
    let loaded: Awaited<ReturnType<typeof import('../../models/index.ts').loadModel>> | undefined;
    if (models) {
      await models.initBackend({ backend: a.backend as 'auto', quiet: a.quiet });
      try {
        loaded = await models.loadModel(a.model!);
      } catch (e) {
        throw new ConfigError('model', (e as Error).message);
      }
    }
    const model = loaded?.model, metadata = loaded?.metadata;
    try {
      const spec = metadata ? models!.validateModelSpec(metadata.spec, 'model metadata.spec') : undefined;
      const inC = spec?.inChannels ?? 1, outC = spec?.outChannels ?? 1;
      const minOv = spec ? tiling!.minimumOverlap(spec) : 0;
      if (spec && a.overlap !== undefined && a.overlap < minOv) throw new ConfigError('overlap', `must be >= ${minOv} for this model (receptive field ${models!.receptiveField(spec)} px), got ${a.overlap}`);
      const tile = a.tile ?? tiling?.DEFAULT_TILE ?? 0;
      const overlap = a.overlap ?? minOv + (tiling?.DEFAULT_BLEND ?? 0);
      const mChans = metadata?.channels ?? [];
      const outNames = models ? models.outputChannelNames(metadata, inC, outC) : [];

      // --- the input: jobs (one tilt series each), geometry, metadata
      let jobs: Job[] = [];
      let angles: Float64Array | undefined;
      let nAngles = 0, rows = 0, cols = 0;
      let pixelNm: number | undefined;
      let inputInfo: Record<string, string | number> = {};
      let alignInfo: Record<string, string | number> = {};
      let sampleIdx: number[] = [];
      const release: (() => Promise<void> | void)[] = [];
      if (isStack) {
        const { readTlt } = await import('../../datasets/index.ts');
        let st: import('../../datasets/formats/index.ts').TiltStack;
        try {
          st = perFile ? await fm.readChannelFiles(inputName, { dataset: a.dataset }) : await fm.readTiltStack(inputName, { dataset: a.dataset, channels: wantNames });
        } catch (e) {
          throw new ConfigError(a.dataset ? 'dataset' : 'input', (e as Error).message);
        }
        [nAngles, rows, cols] = st.shape;
        const first = perFile ? fm.parseChannelFiles(inputName)[0][1] : inputName;
        const tltPath = first.replace(/\.[^./]+$/, '') + '.tlt';
        const tlt = st.angles ?? (existsSync(tltPath) ? readTlt(tltPath) : undefined);
        angles = tlt && tlt.length === nAngles ? tlt : undefined;
        pixelNm = st.pixelSizeNm;
        const plane = rows * cols;
        const { checkFinite } = await import('../../core/finite.ts');
        for (const c of st.channels) {
          const bad = checkFinite(c.data, { source: `${inputName}${a.dataset ? ` ${a.dataset}` : ''} (${c.name})`, shape: [nAngles, rows, cols], axes: ['angle', 'row', 'col'], mask: a['mask-nonfinite'] });
          if (bad) console.error(`${inputName} (${c.name}): ${bad} non-finite value(s) set to 0 (--mask-nonfinite)`);
        }
        if (a.align || a.shifts || a['axis-offset'] !== undefined) {
          // Aligned before denoising (eval/align/cli.ts): every channel moved as the HAADF (or the channel sum) says.
          if (a.align && !angles) throw new ConfigError('align', `needs the tilt angles: ${inputName} records none and ${tltPath} is not there (or has another count)`);
          const { alignSeries } = await import('../../eval/align/cli.ts');
          const haadf = st.channels.find((c) => c.name === 'HAADF');
          const stemOut = a.out.slice(0, a.out.length - extname(a.out).length);
          let r: ReturnType<typeof alignSeries>;
          try {
            r = alignSeries(a, { series: st.channels.map((c) => c.data), haadf: haadf?.data, angles: angles ?? new Float64Array(nAngles), nRows: rows, nCols: cols }, { defaultShiftsFile: `${stemOut}_shifts.txt`, centreAxis: true });
          } catch (e) {
            const m = /^([a-z-]+): (.*)$/.exec((e as Error).message);
            throw m ? new ConfigError(m[1], m[2]) : e;
          }
          st.channels.forEach((c, k) => { c.data = r.series[k]; });
          if (r.message && !a.quiet) console.log(r.message);
          alignInfo = { aligned: a.shifts ?? (a.align ? (r.shiftsFile ?? 'align') : 'axis-offset'), axis_offset: r.alignment?.axisOffset ?? 0 };
        }
        const names = st.channels.map((c) => c.name);
        const has = `${perFile ? 'the files give' : `${inputName} has`} ${names.join(', ')}`;
        if (inC === 1) {
          // A single unnamed stack takes --channel's name, or the model's; named channels: every element (or --channel).
          let pickIdx: number[];
          if (names.length === 1 && names[0] === 'stack') {
            st.channels[0].name = a.channel ?? mChans[0] ?? 'image';
            pickIdx = [0];
          } else if (a.channel !== undefined) {
            const k = names.indexOf(a.channel);
            if (k < 0) throw new ConfigError('channel', `'${a.channel}' is not a channel here (${has})`);
            pickIdx = [k];
          } else {
            pickIdx = names.map((n, k) => [n, k] as const).filter(([n]) => n !== 'HAADF' || mChans.includes('HAADF')).map(([, k]) => k);
            if (pickIdx.length === 0) throw new ConfigError('channel', `${has}: no element channel to denoise (name one with --channel)`);
          }
          jobs = pickIdx.map((k) => ({ channels: [st.channels[k].name], input: (j: number) => st.channels[k].data.slice(j * plane, (j + 1) * plane) }));
        } else {
          // A guided model: every channel it was trained on, by name (the HAADF included).
          const missing = mChans.filter((c) => !names.includes(c));
          if (mChans.length !== inC || missing.length) {
            throw new ConfigError('channel', `the model takes channels ${mChans.join(', ') || '(unnamed)'}; ${has}${missing.length ? ` (missing ${missing.join(', ')})` : ''}: give a file with named channels (.mat, .emd, .hspy, HDF5) or one file per channel, --channels ${mChans.map((c) => `${c}=FILE`).join(',')}`);
          }
          if (a.channel !== undefined && !outNames.includes(a.channel)) throw new ConfigError('channel', `'${a.channel}' is not a channel the model outputs (${outNames.join(', ')})`);
          const idx = mChans.map((c) => names.indexOf(c));
          jobs = [{ channels: outNames, input: (j: number) => {
            const x = new Float32Array(idx.length * plane);
            idx.forEach((k, q) => x.set(st.channels[k].data.subarray(j * plane, (j + 1) * plane), q * plane));
            return x;
          } }];
        }
        inputInfo = { input: inputName, input_format: st.format, ...(a.dataset ? { input_dataset: a.dataset } : {}), ...alignInfo };
      } else {
        if (a.align || a.shifts || a['axis-offset'] !== undefined) throw new ConfigError(a.align ? 'align' : a.shifts ? 'shifts' : 'axis-offset', `applies to a user's tilt series; ${inputName} is a nanodose dataset (its jitter is undone by eval --align)`);
        const { openDataset } = await import('../../datasets/index.ts');
        let r: Awaited<ReturnType<typeof openDataset>>;
        try {
          r = await openDataset(inputName);
        } catch (e) {
          throw new ConfigError('input', (e as Error).message);
        }
        release.push(() => r.close());
        const field = a.field as 'noisy' | 'clean';
        if (!r.stored[field]) throw new ConfigError('field', `${a.input} does not store the '${field}' tilt series`);
        const all = r.indices();
        if (sampleSel === 'all') sampleIdx = all;
        else {
          const i = sampleSel ?? all[0];
          if (!all.includes(i)) throw new ConfigError('sample', `${i} is not in ${a.input} (samples ${all[0]}..${all.at(-1)})`);
          sampleIdx = [i];
        }
        angles = r.angles;
        [, nAngles, rows, cols] = r.shape.tilt;
        pixelNm = r.shape.pixelSizeNm;
        const elements = r.elements.map((e) => e.symbol);
        // Channel groups: each a list of dataset channel indices forming one model input.
        let groups: { inIdx: number[]; names: string[] }[];
        if (inC === 1) {
          let want: string[];
          if (a.channel !== undefined) {
            if (!r.channels.includes(a.channel)) throw new ConfigError('channel', `'${a.channel}' is not a channel of ${a.input} (channels ${r.channels.join(', ')})`);
            if (!elements.includes(a.channel) && !mChans.includes(a.channel)) throw new ConfigError('channel', `'${a.channel}' is not an element channel and the model was trained on ${mChans.join(', ') || '(unnamed)'}`);
            want = [a.channel];
          } else {
            want = elements.filter((e) => r.channels.includes(e));
            if (want.length === 0) throw new ConfigError('input', `${a.input} has no element channels (channels ${r.channels.join(', ')})`);
          }
          groups = want.map((n) => ({ inIdx: [r.channels.indexOf(n)], names: [n] }));
        } else {
          const missing = mChans.filter((c) => !r.channels.includes(c));
          if (mChans.length !== inC || missing.length) {
            throw new ConfigError('channel', `the model takes channels ${mChans.join(', ') || '(unnamed)'}; ${inputName} has ${r.channels.join(', ')}${missing.length ? ` (missing ${missing.join(', ')})` : ''}`);
          }
          if (a.channel !== undefined && !outNames.includes(a.channel)) throw new ConfigError('channel', `'${a.channel}' is not a channel the model outputs (${outNames.join(', ')})`);
          groups = [{ inIdx: mChans.map((c) => r.channels.indexOf(c)), names: outNames }];
        }
        const plane = rows * cols, perCh = nAngles * plane;
        // Samples are read lazily, one at a time (a small cache holds the current one).
        let cached: { index: number; arr: ArrayLike<number> } | undefined;
        const readSample = async (index: number) => {
          if (cached?.index !== index) {
            const s = await r.readSample(index, [field]);
            cached = { index, arr: (field === 'noisy' ? s.noisy : s.clean)! };
          }
          return cached.arr;
        };
        for (const index of sampleIdx) {
          for (const g of groups) {
            const job: Job & { load?: () => Promise<void> } = { sample: index, channels: g.names, input: () => new Float32Array(0) };
            let arr: ArrayLike<number> | undefined;
            job.load = async () => { arr = await readSample(index); };
            job.input = (k) => {
              const x = new Float32Array(g.inIdx.length * plane);
              g.inIdx.forEach((c, j) => {
                const off = c * perCh + k * plane;
                for (let i = 0; i < plane; i++) x[j * plane + i] = arr![off + i];
              });
              return x;
            };
            jobs.push(job);
          }
        }
        inputInfo = { input: inputName, field, samples: JSON.stringify(sampleIdx) };
      }
      // --channel on a multi-output model keeps just that output.
      const keep = (names: string[]) => names.map((n, i) => [n, i] as const).filter(([n]) => a.channel === undefined || inC === 1 || n === a.channel);

      // --- output names (checked before any work)
      const stem = a.out.slice(0, a.out.length - extname(a.out).length);
      const stacks: { sample?: number; channel: string; path: string }[] = [];
      for (const j of jobs) for (const [n] of keep(j.channels)) stacks.push({ sample: j.sample, channel: n, path: '' });
      const manySamples = new Set(stacks.map((s) => s.sample)).size > 1;
      for (const s of stacks) {
        s.path = stacks.length === 1 ? a.out : `${stem}${manySamples ? `_sample-${String(s.sample).padStart(5, '0')}` : ''}_${s.channel}${outExt}`;
      }

      const { progress } = await import('../../core/progress.ts');
      time.lap('start-up');
      const bar = progress('denoise', jobs.length * nAngles, { unit: 'projections', quiet: a.quiet });
      const opts = { metadata: metadata!, tile, overlap, tta: a.tta };
      // Classical filters: the parameter per (sample, channel), given or chosen by thinning cross-validation.
      const { denoiseBaseline, tuneBaselineByThinning } = await import('../../eval/baselines/index.ts');
      const chosen: Record<string, number> = {};
      const paramFor = (j: Job): number => {
        const key = `${j.sample ?? ''}/${j.channels[0]}`;
        if (chosen[key] === undefined) {
          if (classical!.param !== undefined) chosen[key] = classical!.param;
          else {
            let t: ReturnType<typeof tuneBaselineByThinning>;
            try {
              t = tuneBaselineByThinning(classical!.method, Array.from({ length: nAngles }, (_, k) => j.input(k)), rows, cols, { seed: 0, source: `${inputName} (${j.channels[0]})` });
            } catch (e) {
              throw new ConfigError('method', (e as Error).message);
            }
            chosen[key] = t.param;
            if (!a.quiet) console.log(`${classical!.method} ${j.channels[0]}${j.sample !== undefined ? ` (sample ${j.sample})` : ''}: parameter ${t.param} by binomial-thinning cross-validation (candidates ${t.candidates.join(', ')})`);
          }
        }
        return chosen[key];
      };
      const plane = rows * cols;
      /** Runs every job; `put(stackIndex, angle, map)` receives each denoised projection. */
      const { applicabilityWarnings, channelScales, checkNormalisation } = await import('../../models/normalise.ts');
      const warned = new Set<string>();
      const runAll = async (put: (s: number, k: number, map: Float32Array) => void) => {
        let si = 0;
        for (const j of jobs) {
          await (j as Job & { load?: () => Promise<void> }).load?.();
          const kept = keep(j.channels);
          for (let k = 0; k < nAngles; k++) {
            const xin = j.input(k);
            if (classical) {
              put(si, k, denoiseBaseline(classical.method, xin, rows, cols, paramFor(j)));
              bar.increment(1);
              continue;
            }
            // Untrained channels / count levels: one warning per (channel, kind), never an error.
            const inNames = inC === 1 ? j.channels : mChans;
            for (const msg of applicabilityWarnings(metadata!, inNames, channelScales(xin, inC, rows, cols, checkNormalisation(metadata!.normalisation)))) {
              const key = msg.replace(/[\d.e+-]+ mean counts/, 'N mean counts');
              if (!warned.has(key)) { warned.add(key); console.warn(`[nanodose] denoise warning: ${msg}`); }
            }
            const y = await tiling!.denoiseTiled(model!, xin, [inC, rows, cols], opts);
            kept.forEach(([, o], q) => put(si + q, k, y.subarray(o * plane, (o + 1) * plane)));
            bar.increment(1);
          }
          si += kept.length;
        }
      };
      const attrs: Record<string, string | number> = {
        ...inputInfo,
        ...(metadata ? {
          model: a.model!,
          model_scheme: metadata.scheme,
          model_channels: JSON.stringify(mChans),
          model_spec: JSON.stringify(spec),
          model_normalisation: JSON.stringify(metadata.normalisation),
          model_nanodose_version: String(metadata.nanodoseVersion ?? ''),
          tile,
          overlap,
          tta: a.tta ? 1 : 0,
        } : { method: classical!.method }),
      };
      // The chosen parameters are known once the filters ran; the H5 attribute is written at the end.
      const methodParams = () => JSON.stringify(chosen);
      let written: string[];
      try {
        if (outExt === '.h5' || outExt === '.hdf5' || outExt === '.emd') {
          // Several stacks of a user file go into the dataset layout [sample (one), channel, angle, row, col].
          const layoutDataset = !isStack || stacks.length > 1;
          written = [await writeH5(a.out, { isDataset: layoutDataset, sampleIdx: isStack ? [0] : sampleIdx, channels: layoutDataset ? [...new Set(stacks.map((s) => s.channel))] : [stacks[0].channel], nAngles, rows, cols, angles, pixelNm, attrs, lateAttrs: classical ? () => ({ method_params: methodParams() }) : undefined }, runAll)];
        } else {
          const out = stacks.map(() => new Float32Array(nAngles * plane));
          await runAll((s, k, m) => out[s].set(m, k * plane));
          const { writeMrc, writeTlt, writeTiffStack } = await import('../../datasets/index.ts');
          written = [];
          stacks.forEach((s, i) => {
            if (outExt === '.mrc') writeMrc(s.path, out[i], [nAngles, rows, cols], { voxelSizeAngstrom: pixelNm ? pixelNm * 10 : 1, kind: 'stack', labels: [metadata ? `nanodose denoise: ${s.channel}, model ${a.model} (${metadata.scheme})` : `nanodose denoise: ${s.channel}, ${classical!.method} ${methodParams()}`] });
            else writeTiffStack(s.path, out[i], [nAngles, rows, cols], pixelNm ? { pixelSizeNm: pixelNm, kind: 'stack' } : {});
            written.push(s.path);
            if (angles) {
              const tlt = s.path.slice(0, s.path.length - outExt.length) + '.tlt';
              writeTlt(tlt, angles);
              written.push(tlt);
            }
          });
        }
      } finally {
        bar.stop();
        for (const f of release) await f();
      }
      time.lap(classical ? 'filtering and writing' : 'denoising and writing');
      if (!a.quiet) {
        console.log(`denoised ${stacks.length * nAngles} projection(s) ${rows}x${cols}${a.tta ? ' with tta' : ''} (${metadata ? `tile ${tile}, overlap ${overlap}` : `${classical!.method}`}) in ${time.total().toFixed(1)} s (${time.text()}); wrote ${written.join(', ')}`);
      }
    } finally {
      model?.dispose();
    }
  },
};

interface H5Layout {
  isDataset: boolean;
  sampleIdx: number[];
  channels: string[];
  nAngles: number;
  rows: number;
  cols: number;
  angles?: Float64Array;
  pixelNm?: number;
  attrs: Record<string, string | number>;
  /** Attributes known only after the work (a classical filter's chosen parameters). */
  lateAttrs?: () => Record<string, string>;
}

/**
 * Writes the EMD 0.2 file: /data/tilt_denoised/data float32, [sample, channel, angle, row, col]
 * for a dataset (as in the shard) or [angle, row, col] for a stack, one chunk per projection
 * (h5wasm's heap stays small), dims with names and units, filled projection by projection.
 */
async function writeH5(path: string, L: H5Layout, runAll: (put: (s: number, k: number, map: Float32Array) => void) => Promise<void>): Promise<string> {
  const { generatorVersion } = await import('../../datasets/index.ts');
  const { writeEmdRoot, writeEmdDataGroup, spatialDim, writeHdf5File } = await import('../../datasets/formats/hdf5/emd.ts');
  // the one HDF5 writer path: temporary name, reproducible bytes (no object times), rename
  await writeHdf5File(path, async (f) => {
    writeEmdRoot(f, { generator: 'nanodose denoise', generator_version: generatorVersion(), ...L.attrs });
    const smp = f.create_group('sample');
    smp.create_attribute('channel_names', L.channels, [L.channels.length]);
    f.create_group('microscope');
    f.create_group('user');
    const { nAngles: A, rows: R, cols: U } = L;
    const S = L.sampleIdx.length, C = L.channels.length;
    const full = L.isDataset ? [S, C, A, R, U] : [A, R, U];
    const dims = [
      ...(L.isDataset ? [{ name: 'sample', units: '[]', values: Int32Array.from(L.sampleIdx) }, { name: 'channel', units: '[]', values: Int32Array.from({ length: C }, (_, i) => i), attrs: { channel_names: L.channels } }] : []),
      L.angles ? { name: 'tilt angle', units: '[deg]', values: Float64Array.from(L.angles) } : { name: 'projection', units: '[]', values: Int32Array.from({ length: A }, (_, i) => i) },
      spatialDim('row (z)', R, L.pixelNm),
      spatialDim('column (u)', U, L.pixelNm),
    ];
    // Created empty and resized (no whole-array buffer); one chunk per projection.
    const d = writeEmdDataGroup(f.create_group('data'), 'tilt_denoised', { shape: full, dims, title: 'denoised expected counts', attrs: { channel_names: L.channels } });
    await runAll((s, a, map) => {
      if (L.isDataset) {
        const si = Math.floor(s / C), c = s % C;
        d.write_slice([[si, si + 1], [c, c + 1], [a, a + 1], [], []], map);
      } else d.write_slice([[a, a + 1], [], []], map);
    });
    for (const [k, v] of Object.entries(L.lateAttrs?.() ?? {})) f.create_attribute(k, v);
  });
  return path;
}
