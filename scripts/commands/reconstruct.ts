/**
 * `nanodose reconstruct INPUT --out PREFIX`: reconstructs a tilt series (a dataset sample, an MRC
 * stack + .tlt, or a TIFF/HDF5 stack + .tlt) with SIRT (ASTRA semantics), FBP or TV, per channel,
 * and writes PREFIX.h5 (EMD data groups) and PREFIX_<channel>.mrc. --align estimates per-projection
 * shifts and the tilt-axis offset (eval/align), writes them to PREFIX_shifts.txt and undoes them;
 * --shifts FILE applies a shifts file; --axis-offset puts an offset into the projection geometry.
 * Joint methods (--method fused|bimodal|tnv, eval/recon/joint) on a dataset sample with a HAADF channel:
 * the HAADF counts are linearised, -ln(1 - I/N0) with N0 = dose x pixel area (generators/signal), the
 * HAADF weights r_e = mu_e a come from the dataset's acquisition config, and every element volume plus
 * the HAADF model volume (channel 'HAADF-model', sum_e mu_e a x_e per voxel) are written.
 */
import type { CommandModule } from 'yargs';
import { ConfigError } from '../../core/validate.ts';

interface Args {
  input: string;
  out: string;
  method: string;
  dose?: number;
  'haadf-gamma'?: number;
  'haadf-mu-au'?: number;
  sample?: number;
  field: string;
  channels?: string;
  tlt?: string;
  dataset?: string;
  size?: number;
  workers?: number;
  'axis-offset'?: number;
  shifts?: string;
  align: boolean;
  radians: boolean;
  'write-shifts'?: string;
  'align-rotation'?: number;
  quiet: boolean;
  'mask-nonfinite'?: boolean;
}


export const command: CommandModule<object, Args> = {
  command: 'reconstruct <input>',
  describe: 'Reconstruct a tilt series (dataset sample, MRC + .tlt, TIFF/HDF5 stack + .tlt) with SIRT, FBP or TV',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'dataset directory, .h5 shard, .mrc or .tif stack' })
      .option('out', { type: 'string', demandOption: true, describe: 'output prefix: writes PREFIX.h5 and PREFIX_<channel>.mrc' })
      .option('method', { type: 'string', default: 'sirt:100', describe: 'sirt[:iterations] | fbp[:ram-lak|shepp-logan|hann] | tv[:iterations[:mu]] | fused[:iterations[:tv]] | bimodal[:iterations[:alpha]] | tnv[:iterations[:weight]] (joint: a dataset sample with a HAADF channel)' })
      .option('weight', { type: 'string', describe: "fused/tnv: the TV/TNV weight, a number or 'auto' (discrepancy principle for Poisson data: reconstructs at 1/10..30 x the data-scaled default and keeps the largest weight whose EDX deviance does not exceed its expectation at the least-regularised fit; needs raw EDX counts; eval/README.md)" })
      .option('sample', { type: 'number', describe: 'sample index (dataset input; default the first)' })
      .option('field', { type: 'string', default: 'noisy', choices: ['noisy', 'clean'], describe: 'which tilt series of a dataset sample' })
      .option('channels', { type: 'string', describe: 'comma-separated channels of a dataset sample (default: every element)' })
      .option('tlt', { type: 'string', describe: 'tilt angles file (default: input with .tlt)' })
      .option('dataset', { type: 'string', describe: 'dataset path inside an HDF5 stack' })
      .option('size', { type: 'number', describe: 'volume edge nx = ny (default: the dataset size, or the detector width)' })
      .option('workers', { type: 'number', describe: 'projector worker threads (default --threads)' })
      .option('dose', { type: 'number', describe: 'joint methods on a user tilt series: electron dose per projection in e/A^2 (the HAADF is linearised with N0 = dose x pixel size^2)' })
      .option('haadf-gamma', { type: 'number', describe: 'joint methods on a user tilt series: Z exponent of the HAADF cross-section (default 1.7)' })
      .option('haadf-mu-au', { type: 'number', describe: 'joint methods on a user tilt series: HAADF attenuation of gold per A (default the computed 300 kV, 60-200 mrad value)' })
      .option('mask-nonfinite', { type: 'boolean', default: false, describe: 'set NaN/infinite input values to 0 and report how many (default: refuse the input)' })
      .option('axis-offset', { type: 'number', describe: 'tilt-axis column minus the detector centre, in pixels (overrides the one from --align/--shifts)' })
      .option('shifts', { type: 'string', describe: "per-projection shifts file ('angle row col' lines, as --align writes) to undo before reconstructing" })
      .option('radians', { type: 'boolean', default: false, describe: 'the .tlt angles are in radians (any range: angles outside [-90, 90) degrees are folded by 180 with the projection mirrored)' })
      .option('align', { type: 'boolean', default: false, describe: 'estimate the shifts and the tilt-axis offset (eval/align: on the HAADF when present, else the sum of the channels) and apply them to every channel' })
      .option('write-shifts', { type: 'string', describe: 'with --align: write the shifts file here (default PREFIX_shifts.txt)' })
      .option('align-rotation', { type: 'number', describe: 'with --align: also estimate a small in-plane rotation of the projections within +-DEG degrees (e.g. 3)' })
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { phases } = await import('../../core/progress.ts');
    const time = phases({ start: 0 }); // from the process start: the closing line splits the time
    const { readTiltSeries, writeVolumes } = await import('../../eval/recon/volume-io.ts');
    const { parseReconSpec, makeOperator, reconstruct, isJointSpec } = await import('../../eval/recon/reconstruct.ts');
    const { progress } = await import('../../core/progress.ts');
    const { nrmseScaled } = await import('../../eval/metrics/index.ts');
    const spec = parseReconSpec(a.method);
    if (a.size !== undefined && !(Number.isInteger(a.size) && a.size >= 1)) throw new ConfigError('size', `must be an integer >= 1, got ${a.size}`);
    if (a.sample !== undefined && !(Number.isInteger(a.sample) && a.sample >= 0)) throw new ConfigError('sample', `must be an integer >= 0, got ${a.sample}`);
    const joint = isJointSpec(spec) ? spec : null;
    const weight = a.weight === undefined || a.weight === null ? undefined : String(a.weight);
    if (weight !== undefined) {
      if (!joint || joint.kind === 'bimodal') throw new ConfigError('weight', `only for --method fused or tnv, got --method ${a.method}`);
      if (joint.regularisation !== undefined) throw new ConfigError('weight', `--method ${a.method} already gives the weight; give it once`);
      if (weight !== 'auto') {
        const w = Number(weight);
        if (!(w >= 0) || !Number.isFinite(w) || weight.trim() === '') throw new ConfigError('weight', `must be a number >= 0 or 'auto', got '${weight}'`);
        joint.regularisation = w;
      }
    }
    const input = await readTiltSeries(a.input, { sample: a.sample, field: a.field as 'noisy' | 'clean', channels: a.channels?.split(','), tlt: a.tlt, dataset: a.dataset, size: a.size, radians: a.radians });
    const { checkFinite } = await import('../../core/finite.ts');
    for (let c = 0; c < input.series.length; c++) {
      const n = checkFinite(input.series[c], { source: `${a.input} (${input.channels[c]})`, shape: [input.angles.length, input.nRows, input.nCols], axes: ['angle', 'row', 'col'], mask: a['mask-nonfinite'] });
      if (n) console.error(`${a.input} (${input.channels[c]}): ${n} non-finite value(s) set to 0 (--mask-nonfinite)`);
    }
    const jointSetup = joint ? await jointInputs(a.input, input, a.sample, joint.kind, a['mask-nonfinite'] ?? false, { dose: a.dose, gamma: a['haadf-gamma'], muAu: a['haadf-mu-au'] }) : null;
    if (weight === 'auto') (await import('../../eval/recon/joint/weight.ts')).checkEdxCounts(input.series, input.channels);
    const N = input.size;
    if (input.nCols < N) throw new ConfigError('size', `the volume edge ${N} exceeds the detector width ${input.nCols}`);
    // One resolver for --align/--shifts/--axis-offset (eval/align/cli.ts, shared with denoise and eval).
    const { alignSeries } = await import('../../eval/align/cli.ts');
    const aligned = alignSeries(a, { ...input, haadf: input.haadf }, { defaultShiftsFile: `${a.out}_shifts.txt` });
    if (aligned.message && !a.quiet) console.log(aligned.message);
    input.series = aligned.series;
    if (jointSetup && aligned.alignment) jointSetup.haadf = (await import('../../eval/align/index.ts')).applyAlignment(jointSetup.haadf, input.nRows, input.nCols, aligned.alignment);
    const axisOffset = aligned.axisOffset;
    const geom = { angles: input.angles, nz: input.nRows, ny: N, nx: N, nCols: input.nCols, axisOffset };
    const op = await makeOperator(geom, a.workers);
    const volumes: Float32Array[] = [];
    time.lap(a.align ? 'start-up, reading and alignment' : 'start-up and reading');
    let channels = input.channels;
    try {
      if (joint && jointSetup) {
        const data = { ...jointSetup, edx: input.series, elements: input.channels };
        let r: import('../../eval/recon/joint/index.ts').JointVolumes;
        if (weight === 'auto') {
          const { chooseJointWeight, AUTO_WEIGHT_GRID } = await import('../../eval/recon/joint/weight.ts');
          const bar = progress(`${joint.kind} weight auto`, AUTO_WEIGHT_GRID.length, { unit: 'reconstructions', quiet: a.quiet });
          const c = await chooseJointWeight(op, data, joint, { progress: bar, workers: a.workers });
          bar.stop();
          r = c.result;
          if (!a.quiet) {
            for (const s of c.scores) console.log(`  weight ${s.weight.toPrecision(4)} (x${Number(s.factor.toPrecision(3))} default): EDX deviance ${s.deviance.toFixed(1)}, expected ${s.expected.toFixed(1)}, ratio ${(s.deviance / s.expected).toFixed(3)}`);
            console.log(`${joint.kind}: weight auto chose ${c.weight.toPrecision(4)} (x${Number(c.factor.toPrecision(3))} the default), the largest with deviance <= expected`);
          }
        } else {
          if (joint.kind !== 'bimodal' && joint.regularisation === undefined) {
            // the default, computed once here (the count scale sorts the HAADF) and handed to the reconstruction
            const { regularisationForCountScale, defaultWeightConstant, edxCountScale } = await import('../../eval/recon/joint/index.ts');
            const m = edxCountScale(data.edx, data.haadf);
            joint.regularisation = regularisationForCountScale(m, joint.kind);
            if (!a.quiet) console.log(`${joint.kind}: weight ${joint.regularisation.toPrecision(4)} (the default, ${defaultWeightConstant(joint.kind)} / sqrt(${m.toPrecision(3)} EDX counts per element and pixel on the HAADF support); --weight W sets it, --weight auto chooses it from the data`);
          }
          const bar = progress(`${joint.kind} ${input.channels.join('+')}`, joint.iterations, { unit: 'iterations', quiet: a.quiet });
          r = await reconstruct(op, data, joint, {
            workers: a.workers,
            onIteration: (rec) => bar.increment(1, { objective: rec.objective, ...(rec.terms ?? {}) }),
          });
          bar.stop();
        }
        // x_e = u_e / k_e: volume fractions, the HAADF model volume in linearised HAADF per voxel length.
        r.volumes.forEach((v, e) => { const f = r.haadfCoupling[e] / jointSetup.haadfWeights[e]; for (let j = 0; j < v.length; j++) v[j] *= f; });
        volumes.push(...r.volumes, r.haadfVolume);
        channels = [...input.channels, 'HAADF-model'];
        if (!a.quiet) {
          const last = r.history.at(-1);
          console.log(`${joint.kind}: objective ${last?.objective.toExponential(4)} after ${joint.iterations} iterations; EDX counts per voxel length of pure element ${r.edxScale.toPrecision(4)}`);
          if (input.truth) input.channels.forEach((c, e) => console.log(`${c}: NRMSE against the phantom after LS scale ${nrmseScaled(r.volumes[e], input.truth![e]).toFixed(4)}`));
        }
      } else for (let c = 0; c < input.series.length; c++) {
        const bar = progress(`${spec.kind} ${input.channels[c]}`, Math.max(1, spec.iterations), { unit: 'iterations', quiet: a.quiet });
        volumes.push(await reconstruct(op, input.series[c], spec as import('../../eval/recon/reconstruct.ts').ChannelReconSpec, { progress: bar, workers: a.workers }));
        bar.stop();
        if (!a.quiet && input.truth) console.log(`${input.channels[c]}: NRMSE against the phantom after LS scale ${nrmseScaled(volumes[c], input.truth[c]).toFixed(4)}`);
      }
    } finally {
      await (op as { close?: () => Promise<void> }).close?.();
    }
    time.lap('reconstruction');
    const files = await writeVolumes(a.out, volumes, channels, [input.nRows, N, N], { voxelSizeAngstrom: input.voxelSizeAngstrom, attrs: { method: a.method, ...(weight !== undefined ? { weight } : {}), input: a.input, ...(joint ? { units: 'element channels: volume fraction (EDX scale fitted by conservation of mass); HAADF-model: linearised HAADF -ln(1 - I/N0) per voxel length' } : {}) } });
    time.lap('writing');
    if (!a.quiet) console.log(`reconstructed ${channels.length} channel(s) ${input.nRows}x${N}x${N} from ${input.angles.length} tilts in ${time.total().toFixed(1)} s (${time.text()}); wrote ${files.join(', ')}`);
  },
};

/**
 * What a joint method needs beside the element tilt series, from a dataset sample: the linearised
 * HAADF tilt series, the HAADF weights r_e = mu_e a and N0. Refuses (one line, exit 2) a source with no
 * HAADF channel, non-element channels, and legacy linear-HAADF datasets (their HAADF is not the
 * scattered-fraction model the weights come from).
 */
async function jointInputs(path: string, input: import('../../eval/recon/volume-io.ts').TiltSeriesInput, sample: number | undefined, kind: string, mask: boolean, user: { dose?: number; gamma?: number; muAu?: number }) {
  if (!input.haadf) throw new ConfigError('input', `${path} has no HAADF channel; ${kind} needs a HAADF tilt series beside the element channels (a dataset sample with a HAADF channel, an HDF5 file with named channels, or HAADF=FILE,Au=FILE,...)`);
  const sig = await import('../../generators/signal/index.ts');
  if (user.dose !== undefined || user.gamma !== undefined || user.muAu !== undefined) return userJointInputs(path, input, kind, mask, user, sig);
  const { openDataset } = await import('../../datasets/index.ts');
  let r: Awaited<ReturnType<typeof openDataset>>;
  try { r = await openDataset(path); } catch {
    throw new ConfigError('dose', `${path} is a user tilt series, not a dataset: ${kind} needs --dose D (e/A^2 per projection) to linearise its HAADF`);
  }
  try {
    const acq = (r.config as { simulation?: { acquisition?: Record<string, unknown> } })?.simulation?.acquisition ?? {};
    const model = (acq.haadfModel as string | undefined) ?? (acq.haadfEfficiency !== undefined ? 'linear-legacy' : undefined);
    if (model !== 'scattered-fraction') throw new ConfigError('input', `${path}: HAADF model '${model ?? 'unknown'}'; ${kind} needs the 'scattered-fraction' HAADF model (regenerate the dataset)`);
    const elements = input.channels.map((c) => {
      const el = r.elements.find((x) => x.symbol === c);
      if (!el) throw new ConfigError('channels', `'${c}' is not an element of ${path} (elements ${r.elements.map((x) => x.symbol).join(', ')}); ${kind} reconstructs element channels`);
      return el;
    });
    const idx = sample ?? r.indices()[0];
    const dose = (await r.readSample(idx, [])).dosePerProjection;
    const a = input.voxelSizeAngstrom;
    const N0 = sig.incidentElectronsPerPixel(dose, a);
    const mu = sig.haadfCoefficients(elements, { haadfGamma: Number(acq.haadfGamma), haadfMuAu: Number(acq.haadfMuAu) });
    if (!(N0 > 0) || !Array.from(mu).every((v) => v > 0 && Number.isFinite(v))) throw new ConfigError('input', `${path}: cannot form the HAADF model (dose per projection ${dose}, pixel ${a} A, mu ${Array.from(mu).join(', ')})`);
    const { checkFinite } = await import('../../core/finite.ts');
    const n = checkFinite(input.haadf, { source: `${path} (HAADF)`, shape: [input.angles.length, input.nRows, input.nCols], axes: ['angle', 'row', 'col'], mask });
    if (n) console.error(`${path} (HAADF): ${n} non-finite value(s) set to 0 (--mask-nonfinite)`);
    return { haadf: sig.haadfLinearise(input.haadf, N0), haadfWeights: Array.from(mu, (m) => m * a), incident: N0 };
  } finally {
    await r.close();
  }
}

/**
 * The same for a user's tilt series (HDF5 with named channels, NAME=FILE,... per channel, .mat, .emd,
 * .hspy): the dose comes from --dose, the element Z from the channel names (generators/phantoms'
 * table), the HAADF model's mu_Au and gamma from the options or the simulator's defaults (a
 * calibration a user should check against a pure region: science.md section 3).
 */
async function userJointInputs(path: string, input: import('../../eval/recon/volume-io.ts').TiltSeriesInput, kind: string, mask: boolean, user: { dose?: number; gamma?: number; muAu?: number }, sig: typeof import('../../generators/signal/index.ts')) {
  const { ELEMENTS } = await import('../../generators/phantoms/sampler.ts');
  const { DEFAULT_HAADF_MU_AU } = await import('../../generators/signal/haadf.ts');
  const dose = user.dose;
  if (dose === undefined || !(Number.isFinite(dose) && dose > 0)) throw new ConfigError('dose', `${kind} on a user tilt series needs --dose D > 0 (e/A^2 per projection), got ${dose}`);
  const gamma = user.gamma ?? 1.7, muAu = user.muAu ?? DEFAULT_HAADF_MU_AU;
  if (!(Number.isFinite(gamma) && gamma > 0 && gamma <= 3)) throw new ConfigError('haadf-gamma', `must be in (0, 3], got ${gamma}`);
  if (!(Number.isFinite(muAu) && muAu > 0 && muAu <= 0.1)) throw new ConfigError('haadf-mu-au', `must be in (0, 0.1] per A, got ${muAu}`);
  // The HAADF is not an element channel: drop it from the element series.
  const keep = input.channels.map((c, i) => (c === 'HAADF' ? -1 : i)).filter((i) => i >= 0);
  input.series = keep.map((i) => input.series[i]);
  input.channels = keep.map((i) => input.channels[i]);
  if (!input.channels.length) throw new ConfigError('channels', `${path} has only a HAADF channel; ${kind} needs element channels beside it (use quantify for HAADF alone)`);
  const elements = input.channels.map((c) => {
    const Z = ELEMENTS[c];
    if (Z === undefined) throw new ConfigError('channels', `'${c}' of ${path} is not an element symbol nanodose knows (${Object.keys(ELEMENTS).join(', ')}); name the channels by element`);
    return { symbol: c, Z };
  });
  const a = input.voxelSizeAngstrom;
  const N0 = sig.incidentElectronsPerPixel(dose, a);
  sig.checkHaadfBelowIncident(input.haadf!, N0, `${path}: check --dose (${dose} e/A^2) and the pixel size (${a} A)`);
  const mu = sig.haadfCoefficients(elements, { haadfGamma: gamma, haadfMuAu: muAu });
  const { checkFinite } = await import('../../core/finite.ts');
  const n = checkFinite(input.haadf!, { source: `${path} (HAADF)`, shape: [input.angles.length, input.nRows, input.nCols], axes: ['angle', 'row', 'col'], mask });
  if (n) console.error(`${path} (HAADF): ${n} non-finite value(s) set to 0 (--mask-nonfinite)`);
  return { haadf: sig.haadfLinearise(input.haadf!, N0), haadfWeights: Array.from(mu, (m) => m * a), incident: N0 };
}
