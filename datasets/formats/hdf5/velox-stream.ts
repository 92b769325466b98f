/**
 * Velox EDX spectrum streams (Thermo Fisher Velox `.emd`, /Data/SpectrumStream/<uuid>/Data) decoded
 * into per-frame element maps by energy windows, and the X-ray line table the windows come from.
 *
 * The stream layout (not published by Thermo Fisher; as HyperSpy's Velox reader decodes it,
 * hyperspy/misc/io/fei_stream_readers.py, and as its test files show; this is an independent
 * implementation, no code taken from that GPL-3 module):
 * - a 1-D array of uint16 values (the HDF5 dataset is (n, 1); AcquisitionSettings.StreamEncoding
 *   says uint16, AcquisitionSettings.bincount the number of energy channels);
 * - pixels in raster order (row by row, rows x cols per frame), frame after frame;
 * - a value v < 65535 is one X-ray count in energy channel v at the current pixel (Velox writes a
 *   pixel's counts in channel order; nothing here relies on it); 65535 ends the current pixel;
 * - there is no mark after the last pixel (a trailing one is accepted); the pixel index wraps to
 *   the next frame when a value arrives after rows x cols pixels of a frame;
 * - channel i is at energy offset + i * dispersion (the Detectors entry whose DetectorName is the
 *   stream's BinaryResult.Detector: OffsetEnergy and Dispersion, eV).
 * A stream that ends inside a frame (fewer pixels than frames x rows x cols), or holds a value
 * >= bincount other than 65535, is refused; values after the last frame a file declares
 * (SpectrumImageSettings.endFramePosition) are not read, as HyperSpy does.
 *
 * Window rule: an element's map counts the events in the channels whose energy lies within one
 * FWHM of its line, |E_i - E_line| <= FWHM(E_line) (a window 2 FWHM wide, HyperSpy's default
 * integration window), FWHM(E)^2 = FWHM(Mn Ka)^2 + 2.5 (E - E(Mn Ka)) in eV (Fiori & Newbury 1978;
 * Goldstein et al., Scanning Electron Microscopy and X-ray Microanalysis, 3rd ed., p. 315) with
 * 130 eV at Mn K-alpha (5.8987 keV), a typical silicon drift detector. Raw window counts: no
 * background subtraction, no deconvolution of overlapping lines (a count in two elements' windows
 * counts in both maps), so every map stays integer Poisson counts.
 */
import { FormatError } from '../types.ts';

/** The value that ends a pixel in a Velox stream. */
export const PIXEL_MARK = 65535;

/**
 * The line used to map each element nanodose simulates (generators/phantoms/sampler.ts ELEMENTS):
 * K-alpha up to Se, L-alpha from Zr (their K lines lie above 15 keV), L-alpha for Ir, Pt, Au (their
 * M-alpha lines overlap each other and P, Zr near 2 keV). Energies in keV, the weighted K-alpha1,2 /
 * L-alpha1 values of Bearden (1967), Rev. Mod. Phys. 39, 78, as tabulated in the X-ray Data Booklet
 * (LBNL, Table 1-2); they agree with HyperSpy's elements database to 0.1 eV.
 */
export const XRAY_LINES: Readonly<Record<string, { line: string; keV: number }>> = {
  C: { line: 'Ka', keV: 0.2774 }, O: { line: 'Ka', keV: 0.5249 }, Al: { line: 'Ka', keV: 1.4865 }, Si: { line: 'Ka', keV: 1.7397 },
  P: { line: 'Ka', keV: 2.0133 }, S: { line: 'Ka', keV: 2.3072 }, Ti: { line: 'Ka', keV: 4.5109 }, Mn: { line: 'Ka', keV: 5.8987 },
  Fe: { line: 'Ka', keV: 6.4039 }, Co: { line: 'Ka', keV: 6.9303 }, Ni: { line: 'Ka', keV: 7.4781 }, Cu: { line: 'Ka', keV: 8.0478 },
  Zn: { line: 'Ka', keV: 8.6389 }, Ga: { line: 'Ka', keV: 9.2517 }, As: { line: 'Ka', keV: 10.5436 }, Se: { line: 'Ka', keV: 11.222 },
  Zr: { line: 'La', keV: 2.0423 }, Ru: { line: 'La', keV: 2.5585 }, Rh: { line: 'La', keV: 2.6968 }, Pd: { line: 'La', keV: 2.8386 },
  Ag: { line: 'La', keV: 2.9844 }, Cd: { line: 'La', keV: 3.1338 }, In: { line: 'La', keV: 3.287 }, Te: { line: 'La', keV: 3.7693 },
  Ce: { line: 'La', keV: 4.8401 }, Ir: { line: 'La', keV: 9.1748 }, Pt: { line: 'La', keV: 9.4421 }, Au: { line: 'La', keV: 9.713 },
};

const MN_KA_KEV = 5.8987;
/** Detector resolution assumed at Mn K-alpha, eV. */
export const RESOLUTION_MN_KA_EV = 130;

/** FWHM of a line at `keV` (keV), Fiori & Newbury: sqrt(FWHM(Mn Ka)^2 + 2.5 (E - E(Mn Ka))), eV inside. */
export function lineFwhmKeV(keV: number, resolutionMnKaEV = RESOLUTION_MN_KA_EV): number {
  return Math.sqrt(resolutionMnKaEV * resolutionMnKaEV + 2.5 * (keV - MN_KA_KEV) * 1000) / 1000;
}

/** An energy window over channels lo..hi (inclusive) of the spectrum. */
export interface EnergyWindow {
  name: string;
  line: string;
  lineKeV: number;
  lo: number;
  hi: number;
}

/**
 * The window of `element` on the axis E_i = offsetKeV + i dispersionKeV (i < bincount): the channels
 * with |E_i - E_line| <= FWHM(E_line). Undefined when the element has no line in XRAY_LINES or the
 * window lies outside the spectrum.
 */
export function elementWindow(element: string, axis: { offsetKeV: number; dispersionKeV: number; bincount: number }): EnergyWindow | undefined {
  const l = XRAY_LINES[element];
  if (!l) return undefined;
  const w = lineFwhmKeV(l.keV), { offsetKeV: o, dispersionKeV: d, bincount: B } = axis;
  // Smallest and largest i with |o + i d - E| <= w (the 1e-9 keeps a channel exactly on the edge inside).
  const lo = Math.max(0, Math.ceil((l.keV - w - o) / d - 1e-9));
  const hi = Math.min(B - 1, Math.floor((l.keV + w - o) / d + 1e-9));
  if (lo > hi) return undefined;
  return { name: element, line: `${element} ${l.line}`, lineKeV: l.keV, lo, hi };
}

/** What the stream decodes to. */
export interface DecodedStream {
  /** Frames decoded. */
  frames: number;
  /** One map per window, float32 counts over [frame, row, col]. */
  maps: Float32Array[];
  /** Counts per energy channel, summed over every pixel and frame. */
  spectrum: Float64Array;
  /** Counts decoded (events in the frames read). */
  events: number;
}

/**
 * Decodes a Velox spectrum stream pushed in chunks (so a stream larger than one HDF5 read is never
 * held whole): state is the current frame and pixel; each frame's maps are allocated when the
 * frame starts, nothing per event. `frames` (endFramePosition) when the file declares it, else
 * the stream's own count.
 */
export class SpectrumStreamDecoder {
  private readonly n: number;
  private readonly lut: Uint32Array;
  private readonly spectrum: Float64Array;
  private readonly done: Float32Array[] = [];
  private cur: Float32Array;
  private frame = 0;
  private pixel = 0;
  private values = 0;
  private events = 0;
  private ended = false;

  constructor(private readonly o: { rows: number; cols: number; bincount: number; windows: readonly { lo: number; hi: number }[]; frames?: number; file: string; where: string }) {
    this.n = o.rows * o.cols;
    if (o.windows.length > 32) throw new FormatError(o.file, 'emd-velox', `${o.windows.length} energy windows asked for; at most 32 are read at once`);
    if (!(o.bincount >= 1 && o.bincount < PIXEL_MARK)) throw new FormatError(o.file, 'emd-velox', `${o.where}: bincount ${o.bincount}; expected 1..65534 channels`);
    // Channel -> bit set of the windows holding it.
    this.lut = new Uint32Array(o.bincount);
    o.windows.forEach((w, m) => { for (let i = Math.max(0, w.lo); i <= Math.min(o.bincount - 1, w.hi); i++) this.lut[i] |= 1 << m; });
    this.spectrum = new Float64Array(o.bincount);
    this.cur = new Float32Array(o.windows.length * this.n);
  }

  push(chunk: Uint16Array): void {
    const { n, lut, spectrum, o } = this;
    const B = o.bincount, M = o.windows.length;
    let frame = this.frame, pixel = this.pixel, cur = this.cur, events = this.events;
    for (let k = 0; k < chunk.length; k++) {
      if (this.ended) break;
      const v = chunk[k];
      if (pixel === n) {
        // A value after the frame's last pixel: the next frame starts.
        if (o.frames !== undefined && frame + 1 >= o.frames) { this.ended = true; break; }
        this.done.push(cur);
        cur = new Float32Array(M * n);
        frame++;
        pixel = 0;
      }
      if (v === PIXEL_MARK) { pixel++; continue; }
      if (v >= B) {
        this.frame = frame; this.pixel = pixel; this.cur = cur; this.events = events;
        throw new FormatError(o.file, 'emd-velox', `${o.where}: value ${this.values + k} is ${v}, not a channel (bincount ${B}) nor the pixel mark 65535: the stream is damaged`);
      }
      spectrum[v]++;
      events++;
      let bits = lut[v];
      while (bits !== 0) {
        const m = 31 - Math.clz32(bits);
        cur[m * n + pixel]++;
        bits &= ~(1 << m);
      }
    }
    this.values += chunk.length;
    this.frame = frame; this.pixel = pixel; this.cur = cur; this.events = events;
  }

  finish(): DecodedStream {
    const { n, o } = this;
    const F = this.frame + 1;
    // The last pixel has no mark after it (pixel = n - 1), or one (pixel = n).
    const complete = this.pixel >= n - 1 && (o.frames === undefined || F === o.frames);
    if (!complete || this.values === 0) {
      const got = this.frame * n + Math.min(this.pixel + 1, n);
      const want = o.frames !== undefined ? `${o.frames} frame(s) of ${o.rows} x ${o.cols} = ${o.frames * n} pixels` : `whole frames of ${o.rows} x ${o.cols} = ${n} pixels`;
      throw new FormatError(o.file, 'emd-velox', `${o.where}: the stream (${this.values} values) ends after ${this.values === 0 ? 0 : got} pixel(s), inside frame ${this.frame + 1}; expected ${want}: the stream is truncated (or the acquisition was stopped inside a frame)`);
    }
    const frames = [...this.done, this.cur];
    const M = o.windows.length;
    const maps = Array.from({ length: M }, () => new Float32Array(F * n));
    frames.forEach((fr, f) => { for (let m = 0; m < M; m++) maps[m].set(fr.subarray(m * n, (m + 1) * n), f * n); });
    return { frames: F, maps, spectrum: this.spectrum, events: this.events };
  }
}

/** One stream decoded whole (see SpectrumStreamDecoder). */
export function decodeSpectrumStream(stream: Uint16Array, o: ConstructorParameters<typeof SpectrumStreamDecoder>[0]): DecodedStream {
  const d = new SpectrumStreamDecoder(o);
  d.push(stream);
  return d.finish();
}

/**
 * Whether an element's line stands out of the spectrum (the default choice of element maps when
 * the user names none): the window's counts W against the mean of two flanking windows of the same
 * width just below and above it, B = (L + U) / 2; kept when W - B > 5 sqrt(W + (L + U) / 4) (the
 * standard deviation of W - B for Poisson counts) and W - B >= 10.
 */
export function lineDetected(spectrum: Float64Array, w: { lo: number; hi: number }): boolean {
  const width = w.hi - w.lo + 1;
  const sum = (a: number, b: number) => { let s = 0; for (let i = Math.max(0, a); i <= Math.min(spectrum.length - 1, b); i++) s += spectrum[i]; return s; };
  if (w.lo - width < 0 || w.hi + width >= spectrum.length) return false;
  const W = sum(w.lo, w.hi), L = sum(w.lo - width, w.lo - 1), U = sum(w.hi + 1, w.hi + width);
  const net = W - (L + U) / 2;
  return net >= 10 && net > 5 * Math.sqrt(W + (L + U) / 4);
}
