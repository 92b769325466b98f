/**
 * The EDX spectrum image of a Velox `.emd` (Thermo Fisher), as element maps: every
 * /Data/SpectrumStream/<uuid> (one per EDX detector, summed) decoded by formats/hdf5/velox-stream.ts
 * into per-frame counts in each element's energy window.
 *
 * Read from the file (the layout HyperSpy's FeiEMDReader reads; see velox-stream.ts):
 * - <uuid>/AcquisitionSettings: JSON, bincount (channels) and StreamEncoding (uint16 only);
 * - <uuid>/Metadata: JSON (uint8 (length, 1)): BinaryResult.Detector names the detector, its entry in
 *   Detectors gives Dispersion and OffsetEnergy (eV), BinaryResult.ImageSize the frame size (else
 *   the first /Data/Image's rows x cols, as HyperSpy takes it), BinaryResult.PixelSize/PixelUnitX the
 *   pixel size, Stage.AlphaTilt (radians) the tilt;
 * - /Data/SpectrumImage/<uuid>/SpectrumImageSettings: endFramePosition, the number of frames (else
 *   the stream's own).
 * Frames stay frames: the maps are [frame, row, col] with the tilt repeated per frame, as nanodose
 * reads per-frame data everywhere (consecutive images at one tilt angle; n2n-frames splits them, and
 * their sum over a view is the summed map).
 */
import { FormatError } from '../types.ts';
import { columnText, isDataset, isGroup, LENGTH_NM } from './h5-meta.ts';
import { type EnergyWindow, SpectrumStreamDecoder, XRAY_LINES, elementWindow, lineDetected } from './velox-stream.ts';

type Dataset = import('h5wasm/node').Dataset;
type Group = import('h5wasm/node').Group;

const F = 'emd-velox';
/** Stream values read per HDF5 slice (32 MB of uint16). */
const CHUNK = 1 << 24;

/** JSON text held as a string dataset ([text]) or as uint8 columns ((length, n): column 0). */
function json(d: unknown, path: string, where: string): Record<string, any> {
  if (!isDataset(d)) throw new FormatError(path, F, `${where} is missing`);
  let text: string;
  const v = d.value as unknown;
  if (typeof v === 'string') text = v;
  else if (Array.isArray(v) && typeof v[0] === 'string') text = v[0];
  else if (v instanceof Uint8Array) text = columnText(v, d.shape ?? [v.length], 0);
  else throw new FormatError(path, F, `${where} is not JSON text (dtype ${JSON.stringify(d.dtype)})`);
  try {
    return JSON.parse(text.replace(/\0[\s\S]*$/, ''));
  } catch {
    throw new FormatError(path, F, `${where} is not JSON`);
  }
}

/** The energy axis and element windows of a file's spectrum stream, with its summed spectrum. */
export interface VeloxSpectrum {
  detectors: string[];
  bincount: number;
  offsetKeV: number;
  dispersionKeV: number;
  frames: number;
  events: number;
  /** Counts per channel, summed over detectors, pixels and frames. */
  counts: Float64Array;
  windows: EnergyWindow[];
}

export interface VeloxMaps {
  channels: { name: string; data: Float32Array }[];
  shape: [number, number, number];
  spectrum: VeloxSpectrum;
  angles?: Float64Array;
  pixelSizeNm?: number;
}

interface Stream { key: string; data: Dataset; detector: string; bincount: number; offsetKeV: number; dispersionKeV: number; meta: Record<string, any> }

/** True when the file holds an EDX spectrum stream. */
export const hasSpectrumStream = (f: Group): boolean => {
  const g = f.get('Data/SpectrumStream');
  return isGroup(g) && g.keys().some((k) => isGroup(g.get(k)));
};

/**
 * Element maps from the spectrum streams. `want`: element symbols to map (each must have a line in
 * XRAY_LINES); without it, every element of XRAY_LINES whose line stands out of the summed spectrum
 * (velox-stream.ts lineDetected), in the table's order. `frame`: the frame size when the stream
 * metadata does not give one (the images' rows x cols).
 */
export function readVeloxSpectrum(f: Group, path: string, o: { want?: string[]; frame?: [number, number] } = {}): VeloxMaps {
  const root = f.get('Data/SpectrumStream') as Group;
  const streams: Stream[] = [];
  for (const key of root.keys()) {
    const g = root.get(key);
    if (!isGroup(g)) continue;
    const where = `/Data/SpectrumStream/${key}`;
    const acq = json(g.get('AcquisitionSettings'), path, `${where}/AcquisitionSettings`);
    const enc = String(acq.StreamEncoding ?? 'uint16');
    if (enc !== 'uint16') throw new FormatError(path, F, `${where}: StreamEncoding ${enc}; only uint16 streams are read`);
    const bincount = Number(acq.bincount);
    if (!Number.isInteger(bincount) || bincount < 1 || bincount >= 65535) throw new FormatError(path, F, `${where}/AcquisitionSettings: bincount ${acq.bincount}; expected an integer 1..65534`);
    const meta = json(g.get('Metadata'), path, `${where}/Metadata`);
    const detector = String(meta.BinaryResult?.Detector ?? '');
    const dets = Object.values((meta.Detectors ?? {}) as Record<string, any>);
    const calibrated = dets.filter((d) => d && d.Dispersion !== undefined && d.OffsetEnergy !== undefined);
    const det = calibrated.find((d) => d.DetectorName === detector) ?? (calibrated.length === 1 ? calibrated[0] : undefined);
    const disp = Number(det?.Dispersion), off = Number(det?.OffsetEnergy);
    if (!det || !(disp > 0) || !Number.isFinite(off)) throw new FormatError(path, F, `${where}/Metadata: no energy calibration (Detectors entry named ${detector || '(no BinaryResult.Detector)'} with Dispersion and OffsetEnergy in eV)`);
    const data = g.get('Data');
    if (!isDataset(data)) throw new FormatError(path, F, `${where}/Data is missing`);
    const sh = data.shape ?? [];
    const m = data.metadata as { type: number; size: number; signed?: boolean };
    if (m.type !== 0 || m.size !== 2 || m.signed || !(sh.length === 1 || (sh.length === 2 && sh[1] === 1))) throw new FormatError(path, F, `${where}/Data is ${sh.join('x')} ${JSON.stringify(data.dtype)}; expected an (n, 1) uint16 stream`);
    streams.push({ key, data, detector: detector || key, bincount, offsetKeV: off / 1000, dispersionKeV: disp / 1000, meta });
  }
  if (streams.length === 0) throw new FormatError(path, F, '/Data/SpectrumStream holds no stream');
  const s0 = streams[0];
  for (const s of streams.slice(1)) {
    if (s.bincount !== s0.bincount || Math.abs(s.offsetKeV - s0.offsetKeV) > 1e-9 || Math.abs(s.dispersionKeV - s0.dispersionKeV) > 1e-12) {
      throw new FormatError(path, F, `detectors ${s0.detector} (${s0.bincount} channels, ${s0.dispersionKeV * 1000} eV from ${s0.offsetKeV * 1000} eV) and ${s.detector} (${s.bincount}, ${s.dispersionKeV * 1000} eV from ${s.offsetKeV * 1000} eV) are calibrated differently; their counts are not summed`);
    }
  }
  const br = s0.meta.BinaryResult ?? {};
  const iw = Number(br.ImageSize?.width), ih = Number(br.ImageSize?.height);
  const [rows, cols] = iw > 0 && ih > 0 ? [ih, iw] : o.frame ?? [0, 0];
  if (!(rows > 0 && cols > 0)) throw new FormatError(path, F, '/Data/SpectrumStream: no frame size (BinaryResult.ImageSize, or a /Data/Image to take it from)');
  let frames: number | undefined;
  const si = f.get('Data/SpectrumImage');
  if (isGroup(si)) {
    for (const k of si.keys()) {
      const g = si.get(k);
      if (!isGroup(g) || !isDataset(g.get('SpectrumImageSettings'))) continue;
      const end = Number(json(g.get('SpectrumImageSettings'), path, `/Data/SpectrumImage/${k}/SpectrumImageSettings`).endFramePosition);
      if (Number.isInteger(end) && end > 0) frames = end;
    }
  }
  const axis = { offsetKeV: s0.offsetKeV, dispersionKeV: s0.dispersionKeV, bincount: s0.bincount };
  const decode = (windows: EnergyWindow[]) => {
    const maps = windows.map(() => undefined as Float32Array | undefined);
    const counts = new Float64Array(s0.bincount);
    let nFrames = -1, events = 0;
    for (const s of streams) {
      const where = `/Data/SpectrumStream/${s.key}/Data`;
      const dec = new SpectrumStreamDecoder({ rows, cols, bincount: s.bincount, windows, frames, file: path, where });
      const n = s.data.shape![0], rank = s.data.shape!.length;
      for (let a = 0; a < n; a += CHUNK) {
        const b = Math.min(n, a + CHUNK);
        let chunk: Uint16Array;
        try {
          chunk = s.data.slice(rank === 2 ? [[a, b], [0, 1]] : [[a, b]]) as Uint16Array;
        } catch (e) {
          throw new FormatError(path, F, `${where}: values ${a}..${b} cannot be read (${String((e as Error).message).split('\n')[0]})`);
        }
        dec.push(chunk);
      }
      const d = dec.finish();
      if (nFrames >= 0 && d.frames !== nFrames) throw new FormatError(path, F, `${where} holds ${d.frames} frame(s), the first detector's stream ${nFrames}`);
      nFrames = d.frames;
      events += d.events;
      for (let i = 0; i < counts.length; i++) counts[i] += d.spectrum[i];
      d.maps.forEach((m, k) => { const acc = maps[k]; if (!acc) maps[k] = m; else for (let i = 0; i < m.length; i++) acc[i] += m[i]; });
    }
    return { maps: maps as Float32Array[], counts, frames: nFrames, events };
  };
  let windows: EnergyWindow[];
  let out: ReturnType<typeof decode>;
  if (o.want) {
    windows = o.want.map((e) => {
      if (!XRAY_LINES[e]) throw new FormatError(path, F, `no X-ray line for ${e} in nanodose's table (elements: ${Object.keys(XRAY_LINES).join(' ')})`);
      const w = elementWindow(e, axis);
      if (!w) throw new FormatError(path, F, `the ${e} ${XRAY_LINES[e].line} line (${XRAY_LINES[e].keV} keV) lies outside the spectrum (${s0.offsetKeV.toFixed(3)}..${(s0.offsetKeV + (s0.bincount - 1) * s0.dispersionKeV).toFixed(3)} keV)`);
      return w;
    });
    out = decode(windows);
  } else {
    // Pass 1: the summed spectrum; pass 2: the maps of the lines that stand out of it.
    const sp = decode([]);
    windows = Object.keys(XRAY_LINES).map((e) => elementWindow(e, axis)).filter((w): w is EnergyWindow => !!w && lineDetected(sp.counts, w));
    out = windows.length ? decode(windows) : sp;
  }
  const tilt = Number(s0.meta.Stage?.AlphaTilt);
  const w = Number(br.PixelSize?.width), unit = String(br.PixelUnitX ?? 'm').toLowerCase();
  return {
    channels: windows.map((win, k) => ({ name: win.name, data: out.maps[k] })),
    shape: [out.frames, rows, cols],
    spectrum: { detectors: streams.map((s) => s.detector), bincount: s0.bincount, offsetKeV: s0.offsetKeV, dispersionKeV: s0.dispersionKeV, frames: out.frames, events: out.events, counts: out.counts, windows },
    ...(s0.meta.Stage?.AlphaTilt !== undefined && Number.isFinite(tilt) ? { angles: new Float64Array(out.frames).fill((tilt * 180) / Math.PI) } : {}),
    ...(w > 0 && LENGTH_NM[unit] ? { pixelSizeNm: w * LENGTH_NM[unit] } : {}),
  };
}
