/**
 * `nanodose quantify INPUT --elements Au,Ag --out PREFIX`: quantitative HAADF tomography (eval/quant;
 * Skorikov et al., ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593): two-element concentration
 * volumes from the HAADF alone. INPUT is a dataset sample (its HAADF tilt series, dose and acquisition
 * from the dataset), a user HAADF tilt series (MRC/TIFF/HDF5 stack + .tlt: counts with --dose, or already
 * linear with --linear), or a reconstructed HAADF volume (--volume; MRC or HDF5). Writes PREFIX.h5 (EMD
 * data groups, calibration as attributes) and PREFIX_<element>.mrc, and prints the calibration (k, gamma,
 * threshold) and the conditioning; an ill-conditioned pair (Au/Pt) is written with its warning.
 */
import type { CommandModule } from 'yargs';

interface Args {
  input: string;
  out: string;
  elements?: string;
  volume: boolean;
  method: string;
  calibration: string;
  gamma?: number;
  'mu-au'?: number;
  threshold?: number;
  dose?: number;
  'pixel-size'?: number;
  linear: boolean;
  sample?: number;
  field: string;
  tlt?: string;
  dataset?: string;
  size?: number;
  workers?: number;
  radians: boolean;
  'mask-nonfinite': boolean;
  quiet: boolean;
}

export const command: CommandModule<object, Args> = {
  command: 'quantify <input>',
  describe: 'Two-element concentration volumes from the HAADF alone (quantitative HAADF tomography)',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'dataset directory or .h5 shard, HAADF tilt series (.mrc/.tif/.h5 + .tlt), or with --volume a reconstructed HAADF volume (.mrc/.h5)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output prefix: writes PREFIX.h5 and PREFIX_<element>.mrc' })
      .option('elements', { type: 'string', describe: 'the two elements, e.g. Au,Ag (default: a dataset\'s elements)' })
      .option('volume', { type: 'boolean', default: false, describe: 'the input is a reconstructed HAADF volume [z, y, x], not a tilt series' })
      .option('method', { type: 'string', default: 'sirt:100', describe: 'reconstruction: sirt[:iterations] | fbp[:filter] | tv[:iterations[:mu]]' })
      .option('calibration', { type: 'string', default: 'pure', describe: "k: 'pure' (pure-element regions), 'physical' (a mu_Au / 79^gamma; HAADF counts with their dose), 'composition:F' (mean fraction F of the first element), 'k:VALUE'" })
      .option('gamma', { type: 'number', describe: 'Z^gamma contrast exponent (default: the dataset\'s, else 1.7)' })
      .option('mu-au', { type: 'number', describe: 'physical calibration: fraction of the beam scattered into the detector per A of Au (default: the dataset\'s, else the model\'s 1.0e-3)' })
      .option('threshold', { type: 'number', describe: 'particle threshold on the reconstruction (default: Otsu, lowered to keep the lighter element)' })
      .option('dose', { type: 'number', describe: 'user tilt series of HAADF counts: dose per projection in e/A^2 (linearised with N0 = dose x pixel size^2)' })
      .option('pixel-size', { type: 'number', describe: 'pixel size in Å (default: from the file header or the dataset)' })
      .option('linear', { type: 'boolean', default: false, describe: 'user tilt series already linear in the projected amount (no linearisation)' })
      .option('sample', { type: 'number', describe: 'sample index (dataset input; default the first)' })
      .option('field', { type: 'string', default: 'noisy', choices: ['noisy', 'clean'], describe: 'which HAADF of a dataset sample' })
      .option('tlt', { type: 'string', describe: 'tilt angles file (default: input with .tlt)' })
      .option('dataset', { type: 'string', describe: 'dataset path inside an HDF5 input' })
      .option('size', { type: 'number', describe: 'volume edge nx = ny (default: the dataset size, or the detector width)' })
      .option('workers', { type: 'number', describe: 'projector worker threads (default min(2, cores))' })
      .option('radians', { type: 'boolean', default: false, describe: 'the .tlt angles are in radians' })
      .option('mask-nonfinite', { type: 'boolean', default: false, describe: 'set NaN/infinite input values to 0 and report how many (default: refuse the input)' })
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { existsSync, statSync } = await import('node:fs');
    const { dirname, extname } = await import('node:path');
    const { ConfigError } = await import('../../core/validate.ts');
    const q = await import('../../eval/quant/index.ts');
    const { parseReconSpec, isJointSpec } = await import('../../eval/recon/reconstruct.ts');
    // Everything that can be checked without reading the input, before any work.
    if (!existsSync(a.input)) throw new ConfigError('input', `${a.input}: no such file or directory`);
    const outDir = dirname(a.out);
    if (!existsSync(outDir) || !statSync(outDir).isDirectory()) throw new ConfigError('out', `the folder ${outDir} of ${a.out} does not exist`);
    const spec = parseReconSpec(a.method);
    if (isJointSpec(spec)) throw new ConfigError('method', `${spec.kind} is a joint HAADF + EDX method; quantify reconstructs the HAADF alone: sirt, fbp or tv`);
    for (const [k, v, lo, hi] of [['gamma', a.gamma, 1, 2.5], ['mu-au', a['mu-au'], 1e-9, 0.1], ['dose', a.dose, 1e-9, 1e8], ['pixel-size', a['pixel-size'], 1e-3, 1e4]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= lo && v <= hi)) throw new ConfigError(k, `must be a number in [${lo}, ${hi}], got ${v}`);
    }
    if (a.threshold !== undefined && !Number.isFinite(a.threshold)) throw new ConfigError('threshold', `must be a finite number, got ${a.threshold}`);
    if (a.sample !== undefined && !(Number.isInteger(a.sample) && a.sample >= 0)) throw new ConfigError('sample', `must be an integer >= 0, got ${a.sample}`);
    if (a.size !== undefined && !(Number.isInteger(a.size) && a.size >= 1)) throw new ConfigError('size', `must be an integer >= 1, got ${a.size}`);
    if (a.dose !== undefined && a.linear) throw new ConfigError('dose', 'give --dose (HAADF counts, linearised) or --linear (already linear), not both');
    const ext = extname(a.input).toLowerCase();
    const isDataset = !a.volume && !['.mrc', '.mrcs', '.st', '.ali', '.rec', '.map', '.tif', '.tiff'].includes(ext) && !(a.dataset && ['.h5', '.hdf5'].includes(ext));
    if (!a.volume && !isDataset && a.dose === undefined && !a.linear) throw new ConfigError('dose', `${a.input} is a user tilt series: give --dose D (e/A^2 per projection, HAADF counts) or --linear (already linear in the projected amount)`);
    if (isDataset && (a.dose !== undefined || a.linear)) throw new ConfigError(a.linear ? 'linear' : 'dose', 'a dataset sample carries its own dose and HAADF model; leave --dose/--linear out');
    if (a.elements === undefined && !isDataset) throw new ConfigError('elements', 'name the two elements, e.g. --elements Au,Ag');
    if (a.elements !== undefined) q.checkQuantElements(a.elements.split(',').map((s) => s.trim()), 'elements');

    // The acquisition: the dataset's, or the options.
    const { DEFAULT_HAADF_MU_AU, checkHaadfBelowIncident, incidentElectronsPerPixel, validateAcquisitionConfig } = await import('../../generators/signal/index.ts');
    let gamma = a.gamma ?? 1.7, muAu = a['mu-au'] ?? DEFAULT_HAADF_MU_AU, pixel = a['pixel-size'];
    let elements = a.elements?.split(',').map((s) => s.trim());
    let incident: number | undefined, legacyEta: number | undefined;
    let series: Float32Array | undefined, volume: Float32Array | undefined, shape: [number, number, number] | undefined;
    let geomArgs: { angles: Float64Array; nz: number; size: number; nCols: number } | undefined;
    let truth: Float32Array[] | undefined;
    const { checkFinite } = await import('../../core/finite.ts');
    if (a.volume) {
      const ds = await import('../../datasets/index.ts');
      let data: Float32Array, sh: number[];
      if (['.mrc', '.mrcs', '.rec', '.map'].includes(ext)) { const m = ds.readMrc(a.input); data = m.data; sh = m.shape; pixel ??= m.voxelSizeAngstrom || undefined; }
      else { const s = await ds.readImageStack(a.input, { dataset: a.dataset }); data = s.data; sh = s.shape; }
      if (sh.length !== 3) throw new ConfigError('input', `${a.input}: a HAADF volume must be 3D [z, y, x], got shape [${sh.join(', ')}]`);
      checkFinite(data, { source: a.input, shape: sh, axes: ['z', 'y', 'x'], mask: a['mask-nonfinite'] });
      volume = data; shape = [sh[0], sh[1], sh[2]];
    } else {
      const { readTiltSeries } = await import('../../eval/recon/volume-io.ts');
      if (isDataset) {
        const ds = await import('../../datasets/index.ts');
        const r = await ds.openDataset(a.input);
        try {
          if (!r.channels.includes('HAADF')) throw new ConfigError('input', `${a.input} has no HAADF channel (channels ${r.channels.join(', ')})`);
          const idx = a.sample ?? r.indices()[0];
          if (!r.indices().includes(idx)) throw new ConfigError('sample', `${idx} is not in ${a.input} (indices ${r.indices()[0]}..${r.indices().at(-1)})`);
          const acq = validateAcquisitionConfig((r.config as { simulation?: { acquisition?: unknown } }).simulation?.acquisition, 'config.simulation.acquisition');
          gamma = a.gamma ?? acq.haadfGamma; muAu = a['mu-au'] ?? acq.haadfMuAu; pixel ??= acq.pixelSizeAngstrom;
          elements ??= r.elements.map((e) => e.symbol);
          q.checkQuantElements(elements, 'elements (the dataset\'s)');
          const N0 = incidentElectronsPerPixel(r.meta(idx).dose, pixel);
          if (acq.haadfModel === 'linear-legacy') legacyEta = acq.haadfEfficiency; else incident = N0;
          const input = await readTiltSeries(a.input, { sample: idx, field: a.field as 'noisy' | 'clean', channels: ['HAADF'], size: a.size });
          series = legacyEta !== undefined ? Float32Array.from(input.series[0], (v) => v / N0) : input.series[0];
          geomArgs = { angles: input.angles, nz: input.nRows, size: input.size, nCols: input.nCols };
          if (r.stored.phantom) {
            const s = await r.readSample(idx, ['phantom']);
            const NN = r.shape.size ** 3;
            truth = elements.map((el) => { const e = r.elements.findIndex((x) => x.symbol === el); return e >= 0 ? s.phantom!.slice(e * NN, (e + 1) * NN) : new Float32Array(NN); });
          }
        } finally { await r.close(); }
      } else {
        const input = await readTiltSeries(a.input, { tlt: a.tlt, dataset: a.dataset, size: a.size, radians: a.radians });
        pixel ??= input.voxelSizeAngstrom || undefined;
        if (a.dose !== undefined) {
          if (pixel === undefined) throw new ConfigError('pixel-size', `${a.input} records no pixel size: give --pixel-size (A) to linearise with N0 = dose x pixel size^2`);
          incident = incidentElectronsPerPixel(a.dose, pixel);
        }
        series = input.series[0];
        geomArgs = { angles: input.angles, nz: input.nRows, size: input.size, nCols: input.nCols };
      }
      checkFinite(series, { source: `${a.input} (HAADF)`, shape: [geomArgs.angles.length, geomArgs.nz, geomArgs.nCols], axes: ['angle', 'row', 'col'], mask: a['mask-nonfinite'] });
      if (geomArgs.nCols < geomArgs.size) throw new ConfigError('size', `the volume edge ${geomArgs.size} exceeds the detector width ${geomArgs.nCols}`);
      if (incident !== undefined) checkHaadfBelowIncident(series, incident, 'check --dose and --pixel-size, or use --linear');
    }
    const physical = (() => {
      if (legacyEta !== undefined) return undefined;
      if (a.volume || a.linear || incident === undefined || pixel === undefined) return undefined;
      return { pixelSizeAngstrom: pixel, muAu, gamma };
    })();
    let calibration = q.parseCalibration(a.calibration, { firstElement: elements![0], ...(physical ? { physical } : {}) });
    if (a.calibration === 'physical' && legacyEta !== undefined) calibration = { kind: 'k', k: pixel! * legacyEta, source: 'physical (legacy HAADF: a eta)' };

    const opts = { elements: elements!, gamma, calibration, ...(a.threshold !== undefined ? { threshold: a.threshold } : {}) };
    let res: import('../../eval/quant/index.ts').QuantResult;
    const t0 = performance.now();
    if (volume) res = q.quantifyVolume(volume, shape!, opts);
    else {
      const { makeOperator } = await import('../../eval/recon/reconstruct.ts');
      const { progress } = await import('../../core/progress.ts');
      const g = geomArgs!;
      const op = await makeOperator({ angles: g.angles, nz: g.nz, ny: g.size, nx: g.size, nCols: g.nCols }, a.workers);
      const bar = progress(`${spec.kind} HAADF`, Math.max(1, spec.iterations), { unit: 'iterations', quiet: a.quiet });
      try {
        res = await q.quantifyTiltSeries(op, series!, { ...opts, recon: spec, ...(incident !== undefined ? { incident } : {}), reconOptions: { progress: bar, workers: a.workers } });
      } finally { bar.stop(); await op.close?.(); }
      shape = [g.nz, g.size, g.size];
    }
    const cal = res.calibration, cond = res.conditioning;
    const [e0, e1] = res.elements;
    const attrs: Record<string, string> = {
      method: `quantify ${a.method}`, input: a.input, elements: `${e0.symbol},${e1.symbol}`,
      k: String(cal.k), gamma: String(cal.gamma), threshold: String(cal.threshold), threshold_source: cal.thresholdSource,
      calibration: cal.kind, calibration_detail: cal.detail, noise_amplification: String(cond.amplification),
      reference: 'Skorikov et al., ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593',
      ...(res.warnings.length ? { warnings: res.warnings.join(' | ') } : {}),
    };
    const { writeVolumes } = await import('../../eval/recon/volume-io.ts');
    const files = await writeVolumes(a.out, res.concentrations, [e0.symbol, e1.symbol], shape!, { voxelSizeAngstrom: pixel ?? 1, attrs });
    let inParticle = 0;
    for (let i = 0; i < res.mask.length; i++) inParticle += res.mask[i];
    console.log(`calibration: k = ${cal.k.toPrecision(4)}, gamma = ${cal.gamma}, threshold = ${cal.threshold.toPrecision(4)} (${cal.thresholdSource}); ${cal.detail}`);
    console.log(`conditioning: ${e0.symbol}/${e1.symbol} Z ratio ${cond.zRatio.toFixed(3)}, Z^gamma contrast ${(100 * cond.contrast).toFixed(1)} %, noise amplification x${cond.amplification.toFixed(2)}`);
    if (!a.quiet && truth) {
      const { nrmseScaled } = await import('../../eval/metrics/index.ts');
      res.concentrations.forEach((c, e) => { if (truth![e].some((v) => v > 0)) console.log(`${res.elements[e].symbol}: NRMSE against the phantom after LS scale ${nrmseScaled(c, truth![e]).toFixed(4)}`); });
    }
    for (const w of res.warnings) console.error(`warning: ${w}`);
    if (!a.quiet) console.log(`quantified ${inParticle} particle voxels of ${shape!.join('x')} in ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote ${files.join(', ')}`);
  },
};
