/** The reader layer's shared types: a tilt stack with named channels, and the one error it raises. */

export type FormatName = 'mrc' | 'tiff' | 'hdf5' | 'emd-velox' | 'hspy' | 'mat-v5' | 'mat-v7.3' | 'channel-files';

export interface TiltStack {
  /** The file read (for one file per channel, the list as given). */
  file: string;
  format: FormatName;
  /** Channels in file order, each float32 C-order over `shape`. */
  channels: { name: string; data: Float32Array }[];
  /** [angle (or frame), row, col]; a single image is [1, rows, cols]. */
  shape: [number, number, number];
  /** Tilt angles in degrees when the file gives them (a .tlt beside it is the caller's fallback). */
  angles?: Float64Array;
  /** Where the angles came from (for messages). */
  anglesFrom?: string;
  /** Pixel size in nm when the file records one. */
  pixelSizeNm?: number;
  /** An EDX spectrum image the element channels were mapped from (Velox spectrum streams): its energy axis and windows. */
  spectrum?: import('./hdf5/velox-si.ts').VeloxSpectrum;
}

/** Bad input in a file: one line `FILE: FORMAT: what was found and what is allowed` (the CLI exits 2). */
export class FormatError extends Error {
  constructor(readonly file: string, readonly format: string, detail: string) {
    super(`${file}: ${format}: ${detail}`);
    this.name = 'FormatError';
  }
}

/** A channel's name as users write it: HAADF in capitals, element lines (Au_L, Au-La, Au La) as the symbol. */
export function channelName(raw: string): string {
  const s = raw.trim();
  if (/^haadf$/i.test(s)) return 'HAADF';
  const m = /^([A-Z][a-z]?)(?:[ _-]?(?:K|L|M)(?:[a-z]|\d)*)$/.exec(s);
  return m ? m[1] : s;
}
