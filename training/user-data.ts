/**
 * A user's own tilt series as self-supervised training data: any file of the reader layer
 * (datasets/formats: MRC, TIFF, MATLAB .mat v5/v7.3, Velox .emd, HyperSpy .hspy, HDF5 with named
 * channels or `dataset`) or one file per channel (`HAADF=a.mrc,Au=b.mrc`), turned into the
 * in-memory maps train() takes (training/sources.ts MapSource, or MultiMapSource for a HAADF-guided
 * network). Only the fixed-noise schemes apply (there is no clean signal): n2n-thinning (integer
 * counts, or counts = value x countScale), n2n-frames (per-frame data: K consecutive frames per
 * view) and blind-spot.
 *
 * Validation: whole views (every channel and frame of a tilt) are held out, spread evenly over the
 * tilt range, and never trained on; train() chooses its checkpoint on them (the held-out thinned-
 * half deviance of training/criterion.ts, or the validation loss when the counts are not integers).
 * Patches of the training views never overlap a held-out view, so the choice is not fitted to
 * noise the network has seen.
 *
 * Everything is checked before any work: a missing channel, non-finite or negative values, non-
 * integer counts for thinning (with the count scale estimated from the data where one exists,
 * estimateCountScale), too few views for a split. Each is one line naming the file and field.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../core/validate.ts';
import type { MapItem, MapSource, MultiMapSource } from './sources.ts';
import { intTol, estimateCountScale, framesFromAngles } from '../datasets/user-counts.ts';

export type UserScheme = 'n2n-thinning' | 'n2n-frames' | 'blind-spot';
export const USER_SCHEMES: readonly UserScheme[] = ['n2n-thinning', 'n2n-frames', 'blind-spot'];

export interface UserDataOptions {
  /** The file, or one file per channel `NAME=FILE,...`. */
  data: string;
  /** Array inside an HDF5 file (reader layer `dataset`). */
  dataset?: string;
  scheme: UserScheme;
  /** Pooled single-channel network: the element channel to train on (default: the file's only element channel). */
  channels?: string[];
  /** Multi-channel (e.g. HAADF-guided) network: its input channels by name, in order. */
  inputs?: string[];
  /** Counts = value x countScale (data scaled after counting, e.g. by a gain or a normalisation). */
  countScale?: number;
  /** Frames per view: the stack holds K consecutive frames of each view (default: from repeated tilt angles, else 1). */
  frames?: number;
  /** Views held out for validation (default max(1, round(views / 6))). */
  valViews?: number;
  /** Tilt angles file (default: the file's own angles, else a .tlt beside it). */
  tlt?: string;
  /** Set NaN/infinite values to 0 (and count them) instead of refusing the file. */
  maskNonFinite?: boolean;
}

export interface UserData {
  source: MapSource | MultiMapSource;
  /** What was read and how it was split, for the log line and MODELDIR/user-data.json. */
  summary: {
    file: string;
    format: string;
    dataset?: string;
    channels: string[];
    shape: [number, number, number];
    views: number;
    framesPerView: number;
    framesFrom: string;
    trainViews: number[];
    valViews: number[];
    angles?: number[];
    anglesFrom?: string;
    countScale?: number;
    integerCounts: boolean;
    pixelSizeNm?: number;
    masked: number;
  };
  /** One line describing the data and the split. */
  line: string;
}

/** `count` view indices spread evenly over 0..n-1 (centres of equal bins), never the same twice. */
export function heldOutViews(n: number, count: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push(Math.min(n - 1, Math.floor(((k + 0.5) * n) / count)));
  return [...new Set(out)];
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));

/**
 * Reads a user's tilt series and splits it into training and held-out validation views (see the
 * module comment). Throws ConfigError / FormatError (one line, exit 2) for bad input.
 */
export async function userTrainingData(o: UserDataOptions): Promise<UserData> {
  const fm = await import('../datasets/formats/index.ts');
  const perFile = fm.isChannelFileSpec(o.data);
  if (!perFile && !existsSync(o.data)) throw new ConfigError('data', `${o.data}: no such file or directory`);
  if (!(USER_SCHEMES as readonly string[]).includes(o.scheme)) {
    throw new ConfigError('scheme', `${o.data} is a user's tilt series (no clean signal): train it with ${USER_SCHEMES.join(', ')}; supervised training needs a simulated dataset (nanodose generate --like ${o.data})`);
  }
  if (o.inputs && o.channels) throw new ConfigError('channels', 'selects the one channel of a pooled network; a multi-channel network names its channels with --inputs');
  if (o.countScale !== undefined && !(o.countScale > 0 && Number.isFinite(o.countScale))) throw new ConfigError('count-scale', `must be a number > 0 (counts = value x scale), got ${o.countScale}`);
  if (o.frames !== undefined && !(Number.isInteger(o.frames) && o.frames >= 1)) throw new ConfigError('frames', `must be an integer >= 1 (frames per view), got ${o.frames}`);
  if (o.valViews !== undefined && !(Number.isInteger(o.valViews) && o.valViews >= 1)) throw new ConfigError('val-views', `must be an integer >= 1, got ${o.valViews}`);

  // Which channels to read: the guided network's inputs, the pooled channel, or all (then choose).
  const want = o.inputs ?? (o.channels?.length ? o.channels : undefined);
  if (!o.inputs && want && want.length > 1) {
    throw new ConfigError('channels', `a pooled network trains on one channel of a user's file, got ${want.join(',')}; for several at once train a multi-channel network (--inputs ${want.join(',')}, or HAADF,${want.filter((c) => c !== 'HAADF').join(',')} with a HAADF guide)`);
  }
  const st = perFile ? await fm.readChannelFiles(o.data, { dataset: o.dataset }) : await fm.readTiltStack(o.data, { dataset: o.dataset, channels: want });
  if (perFile && want) {
    const names = st.channels.map((c) => c.name);
    const missing = want.filter((w) => !names.includes(w));
    if (missing.length) throw new ConfigError(o.inputs ? 'inputs' : 'channels', `${o.data}: channel ${missing.join(', ')} missing (the files give ${names.join(', ')})`);
    st.channels = want.map((w) => st.channels.find((c) => c.name === w)!);
  }
  const file = o.data;
  const [images, h, w] = st.shape;

  // Pooled: exactly one channel (an element; an unnamed stack takes the name 'image').
  if (!o.inputs) {
    if (st.channels.length === 1 && st.channels[0].name === 'stack') st.channels[0].name = 'image';
    if (!want) {
      const elements = st.channels.filter((c) => c.name !== 'HAADF');
      if (elements.length !== 1) {
        const all = st.channels.map((c) => c.name).join(', ');
        throw new ConfigError('channels', elements.length === 0
          ? `${file} has only ${all}: name the channel to train on (--channels HAADF to denoise the HAADF itself)`
          : `${file} has channels ${all}: name the one to train on (--channels ${elements[0].name}), or train a multi-channel network on several (--inputs ${st.channels.map((c) => c.name).join(',')})`);
      }
      st.channels = elements;
    }
  } else if (!o.inputs.some((c) => c !== 'HAADF')) {
    throw new ConfigError('inputs', `must include an element channel besides the HAADF guide, got ${o.inputs.join(',')}`);
  }

  // Angles: the file's, --tlt, or a .tlt beside it (only to find frames and to report the split).
  let angles = st.angles ? Array.from(st.angles) : undefined;
  let anglesFrom = st.anglesFrom;
  const tltPath = o.tlt ?? (perFile ? fm.parseChannelFiles(o.data)[0][1] : o.data).replace(/\.[^./]+$/, '') + '.tlt';
  if (o.tlt !== undefined && !existsSync(o.tlt)) throw new ConfigError('tlt', `${o.tlt}: no such file`);
  if ((o.tlt !== undefined || !angles) && existsSync(tltPath)) {
    const { readTlt } = await import('../datasets/formats/mrc/mrc.ts');
    const t = readTlt(tltPath);
    if (t.length === images || o.tlt !== undefined) {
      angles = Array.from(t);
      anglesFrom = tltPath;
    }
  }
  if (angles && angles.length !== images) {
    if (o.tlt !== undefined) throw new ConfigError('tlt', `${o.tlt} lists ${angles.length} angles; ${file} has ${images} images`);
    angles = undefined;
  }

  // Frames per view.
  let K = 1, framesFrom = 'one image per view';
  if (o.frames !== undefined) {
    K = o.frames;
    framesFrom = '--frames';
    if (images % K !== 0) throw new ConfigError('frames', `${file} has ${images} images, not a multiple of ${K} frames per view`);
  } else if (angles) {
    const k = framesFromAngles(angles);
    if (k > 1) {
      K = k;
      framesFrom = `${k} consecutive images at each tilt angle (${anglesFrom})`;
    }
  }
  const views = images / K;
  if (o.scheme === 'n2n-frames' && K < 2) {
    throw new ConfigError('scheme', `n2n-frames needs several frames per view; ${file} has ${images} images${angles ? ' at distinct tilt angles' : ''} (one frame each): give --frames K when each view is K consecutive frames, or use n2n-thinning (integer counts) or blind-spot`);
  }
  const viewAngles = angles ? Array.from({ length: views }, (_, v) => angles![v * K]) : undefined;

  // The split: at least one held-out view and two training views.
  const nVal = o.valViews ?? Math.max(1, Math.round(views / 6));
  if (views < 3 || views - nVal < 2) {
    throw new ConfigError(o.valViews !== undefined ? 'val-views' : 'data', `${file} has ${views} view(s)${K > 1 ? ` of ${K} frames` : ''}; training holds out ${nVal} whole view(s) for validation and needs at least 2 others to train on (at least 3 views${o.valViews !== undefined ? ', or fewer --val-views' : ''})`);
  }
  const valIdx = heldOutViews(views, nVal);
  const trainIdx = Array.from({ length: views }, (_, v) => v).filter((v) => !valIdx.includes(v));

  // Values: finite (or masked), >= 0, integer counts where the scheme or --count-scale needs them.
  const { checkFinite, unravel } = await import('../core/finite.ts');
  const plane = h * w;
  let masked = 0;
  const dsName = o.dataset ? ` ${o.dataset}` : '';
  const isGuide = (name: string) => !!o.inputs && name === 'HAADF';
  let integerCounts = true;
  for (const c of st.channels) {
    const src = `${file}${dsName} (${c.name})`;
    masked += checkFinite(c.data, { source: src, shape: st.shape, axes: ['image', 'row', 'col'], mask: o.maskNonFinite });
    const guide = isGuide(c.name);
    const S = guide ? undefined : o.countScale;
    const needInt = !guide && (o.scheme === 'n2n-thinning' || S !== undefined);
    const d = c.data;
    const scaled = (i: number) => (S === undefined ? d[i] : d[i] * S);
    for (let i = 0; i < d.length; i++) {
      const v = scaled(i);
      if (!(v >= 0)) {
        const at = unravel(i, st.shape);
        throw new ConfigError('data', `${src} has a negative value ${d[i]} at [image ${at[0]}, row ${at[1]}, col ${at[2]}]; training takes counts >= 0 (a background-subtracted map: add the background back, or clip it at 0 yourself)`);
      }
      if (guide || Math.abs(v - Math.round(v)) <= intTol(v)) continue;
      if (!needInt) {
        integerCounts = false;
        continue;
      }
      const at = unravel(i, st.shape);
      const where = `[image ${at[0]}, row ${at[1]}, col ${at[2]}]`;
      const est = estimateCountScale(d);
      const hint = est
        ? `; the values look like counts x ${fmt(1 / est)} (smallest step): give --count-scale ${fmt(est)}`
        : '; no count scale makes them integers (interpolated, aligned or background-subtracted data?): use --scheme blind-spot, which needs no counts';
      if (S !== undefined) throw new ConfigError('count-scale', `${src}: value ${d[i]} x ${fmt(S)} = ${v} at ${where} is not an integer count${hint}`);
      throw new ConfigError('data', `${src}: n2n-thinning needs integer counts, got ${v} at ${where}${hint}`);
    }
    // Counts as exact integers (float32 rounding of value x scale removed).
    if (needInt) for (let i = 0; i < d.length; i++) d[i] = Math.round(scaled(i));
  }

  // Maps: per view, per channel (noisy = the sum of its frames; frames when K > 1).
  const item = (data: Float32Array, v: number): MapItem => {
    if (K === 1) return { h, w, noisy: data.slice(v * plane, (v + 1) * plane) };
    const frames = Array.from({ length: K }, (_, f) => data.slice((v * K + f) * plane, (v * K + f + 1) * plane));
    const noisy = new Float32Array(plane);
    for (const fr of frames) for (let i = 0; i < plane; i++) noisy[i] += fr[i];
    return { h, w, noisy, frames };
  };
  let source: MapSource | MultiMapSource;
  if (o.inputs) {
    const group = (v: number) => st.channels.map((c) => item(c.data, v));
    source = { kind: 'multi-maps', channels: st.channels.map((c) => c.name), train: trainIdx.map(group), val: valIdx.map(group) };
  } else {
    const c = st.channels[0];
    source = { kind: 'maps', channel: c.name, train: trainIdx.map((v) => item(c.data, v)), val: valIdx.map((v) => item(c.data, v)) };
  }
  const channels = st.channels.map((c) => c.name);
  const summary: UserData['summary'] = {
    file,
    format: st.format,
    ...(o.dataset ? { dataset: o.dataset } : {}),
    channels,
    shape: st.shape,
    views,
    framesPerView: K,
    framesFrom,
    trainViews: trainIdx,
    valViews: valIdx,
    ...(viewAngles ? { angles: viewAngles, anglesFrom } : {}),
    ...(o.countScale !== undefined ? { countScale: o.countScale } : {}),
    integerCounts,
    ...(st.pixelSizeNm ? { pixelSizeNm: st.pixelSizeNm } : {}),
    masked,
  };
  const at = (v: number) => (viewAngles ? `${fmt(viewAngles[v])}` : `view ${v}`);
  const line =
    `${file} (${st.format}): ${channels.join(', ')}, ${views} views of ${h}x${w}${K > 1 ? `, ${K} frames each` : ''}` +
    `${o.countScale !== undefined ? `, counts = value x ${fmt(o.countScale)}` : integerCounts ? ', integer counts' : ', not integer counts'}; ` +
    `${trainIdx.length} views to train on, ${valIdx.length} held out for validation (${viewAngles ? `${valIdx.map(at).join(', ')} deg` : valIdx.map(at).join(', ')})`;
  return { source, summary, line };
}
