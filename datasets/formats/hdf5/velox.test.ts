/**
 * Velox EDX spectrum streams: the decoder (velox-stream.ts) on hand-made streams, and readVelox on
 * the fixture testing/make-velox-stream.py wrote from a known phantom (per-frame window counts and the
 * summed spectrum counted from the drawn photons, not from the stream: exact integers), against
 * HyperSpy's Velox reader where python3-hyperspy is installed (skipped with one `skip:` line
 * otherwise, a failure with NANODOSE_REQUIRE_CLIENTS=1), and damaged streams refused in one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, readTiltStack } from '../index.ts';
import { assertFormatError } from '../testing/assert-format-error.ts';
import { PIXEL_MARK, XRAY_LINES, decodeSpectrumStream, elementWindow, lineFwhmKeV } from './velox-stream.ts';

const FX = fileURLToPath(new URL('../testing/fixtures/', import.meta.url));
const SI = join(FX, 'velox_si.emd');
const truth = JSON.parse(readFileSync(join(FX, 'velox_si_truth.json'), 'utf8')) as {
  shape: [number, number, number]; frames: number; bincount: number; dispersion_eV: number; offset_eV: number; alpha_deg: number; pixel_size_nm: number;
  windows: Record<string, { lo: number; hi: number }>; maps: Record<string, number[]>; spectrum: number[]; events: number; haadf: number[];
};
const M = PIXEL_MARK;
const exact = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.unreachable(`${what}: value ${i} is ${a[i]}, expected ${b[i]}`);
};

test('decoder: counts per pixel and window, pixel marks, frame wrap, a trailing mark, frames declared', () => {
  // 1 x 2 pixels, 2 frames, 8 channels; windows [1..2] and [2..5] overlap on channel 2.
  //   frame 0: pixel 0 {1, 2, 2}, pixel 1 {7};  frame 1: pixel 0 {}, pixel 1 {5, 1}
  const stream = Uint16Array.from([1, 2, 2, M, 7, M, M, 5, 1]);
  const o = { rows: 1, cols: 2, bincount: 8, windows: [{ lo: 1, hi: 2 }, { lo: 2, hi: 5 }], file: 'x.emd', where: 's' };
  const d = decodeSpectrumStream(stream, o);
  assert.is(d.frames, 2);
  assert.is(d.events, 6);
  exact(d.maps[0], [3, 0, 0, 1], 'window 1..2 [frame, pixel]');
  exact(d.maps[1], [2, 0, 0, 1], 'window 2..5');
  exact(d.spectrum, [0, 2, 2, 0, 0, 1, 0, 1], 'spectrum');
  // the same with a mark after the last pixel, and in two chunks split anywhere
  const withMark = Uint16Array.from([...stream, M]);
  exact(decodeSpectrumStream(withMark, o).maps[1], [2, 0, 0, 1], 'trailing mark');
  // values after the declared frames are not read (as HyperSpy does with endFramePosition)
  const one = decodeSpectrumStream(stream, { ...o, frames: 1 });
  assert.is(one.frames, 1);
  exact(one.maps[0], [3, 0], 'first frame only');
  assert.is(one.events, 4);
});

test('decoder: truncated and damaged streams are refused, naming the file and the stream', () => {
  const o = { rows: 2, cols: 2, bincount: 8, windows: [], file: 'x.emd', where: '/Data/SpectrumStream/u/Data' };
  assert.throws(() => decodeSpectrumStream(Uint16Array.from([1, M, 2]), o), (e: Error) => e instanceof FormatError && /x\.emd: emd-velox: .*ends after 2 pixel\(s\), inside frame 1; expected whole frames of 2 x 2/.test(e.message));
  assert.throws(() => decodeSpectrumStream(Uint16Array.from([1, M, M, M, 3, M, 1]), { ...o, frames: 3 }), (e: Error) => /ends after 5 pixel\(s\), inside frame 2; expected 3 frame\(s\)/.test(e.message));
  assert.throws(() => decodeSpectrumStream(Uint16Array.from([1, M, 9, M, M]), o), (e: Error) => /value 2 is 9, not a channel \(bincount 8\).*damaged/.test(e.message));
  assert.throws(() => decodeSpectrumStream(new Uint16Array(0), o), (e: Error) => /\(0 values\) ends after 0 pixel/.test(e.message));
});

test('windows: one FWHM each side of the line on the channel axis (offset + i dispersion)', () => {
  assert.ok(Math.abs(lineFwhmKeV(5.8987) - 0.13) < 1e-12, 'FWHM at Mn K-alpha is the reference 130 eV');
  const axis = { offsetKeV: -0.2, dispersionKeV: 0.01, bincount: 2048 };
  for (const e of ['Au', 'Ag']) {
    const w = elementWindow(e, axis)!;
    assert.equal([w.lo, w.hi], [truth.windows[e].lo, truth.windows[e].hi], `${e} window (make-velox-stream.py computes it with numpy)`);
    const lo = -0.2 + 0.01 * w.lo, hi = -0.2 + 0.01 * w.hi, f = lineFwhmKeV(XRAY_LINES[e].keV);
    assert.ok(lo >= XRAY_LINES[e].keV - f - 1e-9 && lo - 0.01 < XRAY_LINES[e].keV - f, `${e} lower edge ${lo}`);
    assert.ok(hi <= XRAY_LINES[e].keV + f + 1e-9 && hi + 0.01 > XRAY_LINES[e].keV + f, `${e} upper edge ${hi}`);
  }
  assert.is(elementWindow('Au', { offsetKeV: 0, dispersionKeV: 0.005, bincount: 1000 }), undefined, 'Au L-alpha beyond a 5 keV spectrum');
  assert.is(elementWindow('Pb', axis), undefined, 'no line for Pb');
});

test('readVelox: per-frame Au and Ag maps equal the photons the fixture drew; HAADF frames, tilt per frame, pixel size, energy axis', async () => {
  const s = await readTiltStack(SI);
  assert.is(s.format, 'emd-velox');
  assert.equal(s.shape, truth.shape);
  assert.equal(s.channels.map((c) => c.name), ['HAADF', 'Ag', 'Au'], 'HAADF, then the elements detected in the spectrum (table order)');
  for (const e of ['Au', 'Ag']) exact(s.channels.find((c) => c.name === e)!.data, truth.maps[e], `${e} map [frame, row, col]`);
  exact(s.channels[0].data, truth.haadf, 'HAADF frames');
  assert.is(s.angles!.length, truth.frames);
  for (const a of s.angles!) assert.ok(Math.abs(a - truth.alpha_deg) < 1e-6, `tilt ${a}`);
  assert.ok(Math.abs(s.pixelSizeNm! - truth.pixel_size_nm) < 1e-9);
  const sp = s.spectrum!;
  assert.equal(sp.detectors, ['SuperXG21', 'SuperXG22']);
  assert.is(sp.bincount, truth.bincount);
  assert.ok(Math.abs(sp.dispersionKeV - truth.dispersion_eV / 1000) < 1e-15 && Math.abs(sp.offsetKeV - truth.offset_eV / 1000) < 1e-15);
  assert.is(sp.events, truth.events);
  exact(sp.counts, truth.spectrum, 'summed spectrum');
  // Named channels: the stream maps only those; the order is the user's.
  const b = await readTiltStack(SI, { channels: ['Au', 'HAADF'] });
  assert.equal(b.channels.map((c) => c.name), ['Au', 'HAADF']);
  exact(b.channels[0].data, truth.maps.Au, 'Au asked for');
  const pt = await readTiltStack(SI, { channels: ['Pt'] }); // a line nothing emitted: a map of the continuum only
  assert.equal(pt.shape, truth.shape);
  assert.ok(pt.channels[0].data.reduce((x, y) => x + y, 0) < truth.events / 10);
});

test('readVelox: damaged files give one line naming the file', async () => {
  await assertFormatError(() => readTiltStack(join(FX, 'velox_si_truncated.emd')), /velox_si_truncated\.emd: emd-velox: \/Data\/SpectrumStream\/c+\/Data: the stream \(\d+ values\) ends after \d+ pixel\(s\), inside frame \d; expected 3 frame\(s\) of 16 x 16/);
  await assertFormatError(() => readTiltStack(join(FX, 'velox_si_badchannel.emd')), /velox_si_badchannel\.emd: emd-velox: .*value 100 is 40000, not a channel \(bincount 2048\)/);
  await assertFormatError(() => readTiltStack(SI, { channels: ['Pb'] }), /velox_si\.emd: emd-velox: no X-ray line for Pb in nanodose's table/);
  // the HAADF image alone needs no stream: the damaged stream is not read
  const h = await readTiltStack(join(FX, 'velox_si_badchannel.emd'), { channels: ['HAADF'] });
  exact(h.channels[0].data, truth.haadf, 'HAADF of the damaged file');
});

// HyperSpy's Velox reader (python3-hyperspy): its summed spectrum image in our windows, its FWHM and line energies.
const PY = '/usr/bin/python3';
const REQUIRED = process.env.NANODOSE_REQUIRE_CLIENTS === '1';
const probe = spawnSync(PY, ['-c', 'import hyperspy.api'], { encoding: 'utf8' });
const hyperspyTest = (name: string, fn: () => Promise<void>) => {
  if (!probe.error && probe.status === 0) return test(name, fn);
  const why = `python3-hyperspy is not installed (${PY} -c 'import hyperspy.api': ${(probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)) || `exit ${probe.status}`})`;
  if (REQUIRED) return test(name, () => assert.unreachable(`${why}; install it: apt-get install -y python3-hyperspy`));
  console.log(`skip: ${why}; apt-get install -y python3-hyperspy runs this test`);
  test.skip(name, fn);
};

hyperspyTest("HyperSpy's summed spectrum image gives the same window maps and spectrum; its FWHM formula and line energies match the table", async () => {
  const s = await readTiltStack(SI);
  const w = s.spectrum!.windows.map((x) => [x.name, x.lo, x.hi]);
  const script = `
import json, sys, warnings, logging
logging.disable(logging.WARNING); warnings.filterwarnings("ignore")
import numpy as np, hyperspy.api as hs
from hyperspy.misc.eds.utils import get_FWHM_at_Energy
from hyperspy.misc.elements import elements_db as db
sig = hs.load(sys.argv[1], sum_frames=True, sum_EDS_detectors=True)
si = [x for x in (sig if isinstance(sig, list) else [sig]) if x.metadata.Signal.signal_type == "EDS_TEM" and x.data.ndim == 3][0]
d = np.asarray(si.data, dtype=np.int64)
w = json.loads(sys.argv[2]); lines = json.loads(sys.argv[3])
print(json.dumps({"maps": {n: d[..., lo:hi + 1].sum(-1).ravel().tolist() for n, lo, hi in w}, "spectrum": d.sum((0, 1)).tolist(),
  "scale": si.axes_manager[-1].scale, "offset": si.axes_manager[-1].offset,
  "fwhm": {n: get_FWHM_at_Energy(130, db[n].Atomic_properties.Xray_lines[l]["energy (keV)"]) for n, l in lines.items()},
  "energy": {n: db[n].Atomic_properties.Xray_lines[l]["energy (keV)"] for n, l in lines.items()}}))
`;
  const lines = Object.fromEntries(Object.entries(XRAY_LINES).map(([e, l]) => [e, l.line]));
  const r = spawnSync(PY, ['-c', script, SI, JSON.stringify(w), JSON.stringify(lines)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.is(r.status, 0, r.stderr);
  const hs = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { maps: Record<string, number[]>; spectrum: number[]; scale: number; offset: number; fwhm: Record<string, number>; energy: Record<string, number> };
  const [F, R, C] = s.shape;
  for (const c of s.channels.filter((x) => x.name !== 'HAADF')) {
    const summed = new Float64Array(R * C);
    for (let f = 0; f < F; f++) for (let i = 0; i < R * C; i++) summed[i] += c.data[f * R * C + i];
    exact(summed, hs.maps[c.name], `${c.name} summed over frames vs HyperSpy`);
  }
  exact(s.spectrum!.counts, hs.spectrum, 'spectrum vs HyperSpy');
  assert.ok(Math.abs(hs.scale - s.spectrum!.dispersionKeV) < 1e-12 && Math.abs(hs.offset - s.spectrum!.offsetKeV) < 1e-12, `energy axis ${hs.scale} ${hs.offset}`);
  for (const [e, l] of Object.entries(XRAY_LINES)) {
    assert.ok(Math.abs(hs.energy[e] - l.keV) < 1e-4, `${e} ${l.line}: table ${l.keV} keV, HyperSpy ${hs.energy[e]}`);
    assert.ok(Math.abs(hs.fwhm[e] - lineFwhmKeV(l.keV)) < 1e-6, `${e} FWHM ${lineFwhmKeV(l.keV)} vs HyperSpy ${hs.fwhm[e]}`);
  }
});

test.run();
