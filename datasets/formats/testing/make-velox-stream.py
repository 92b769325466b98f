#!/usr/bin/python3
"""Makes fixtures/velox_si.emd, a small Velox-like EDX spectrum-image acquisition, and its truth
fixtures/velox_si_truth.json, with h5py (Debian python3-h5py); then checks that HyperSpy's Velox reader
(python3-hyperspy, io_plugins/emd.py FeiEMDReader) reads the file back to exactly the counts written.
Run from the repository root:

    /usr/bin/python3 datasets/formats/testing/make-velox-stream.py

The layout is the one Velox writes and HyperSpy 1.7 reads (no published specification; the layout is
as HyperSpy's reader and its test files show it):
- /Version: JSON {"format": "Velox", ...}; /Operations/StemInputOperation/<uuid>: JSON naming the
  detector of each /Data/Image/<uuid>.
- /Data/Image/<uuid>/Data (rows, cols, frames) uint16 HAADF, one image per frame; Metadata uint8
  (length, frames), JSON text per frame (BinaryResult, Detectors, Scan, Stage).
- /Data/SpectrumImage/<uuid>/SpectrumImageSettings: JSON with endFramePosition (number of frames).
- /Data/SpectrumStream/<uuid>/ one group per EDX detector (Super-X has four; two here), each with
  Data (n, 1) uint16: the event stream; Metadata (length, 1) JSON (BinaryResult.Detector, the
  Detectors entry of that name with Dispersion and OffsetEnergy in eV); AcquisitionSettings: JSON
  with bincount (channels) and StreamEncoding (uint16).
- The stream: pixels in raster order (row by row), frame after frame; each value below 65535 is one
  X-ray count in that energy channel at the current pixel, 65535 ends the pixel (no mark after the
  very last pixel); the pixel index wraps to the next frame after rows x cols pixels.

The phantom: one tilt (stage alpha 10 deg), 3 frames of 16 x 16 px, an Au disk and an Ag disk. Each
frame's photons are Poisson draws (seed 7): Au L-alpha 9.713 keV and M-alpha 2.123 keV, Ag L-alpha
2.984 and L-beta1 3.151 keV, plus a flat continuum 0.5-19 keV; energies blurred by the detector
resolution (FWHM 130 eV at Mn K-alpha, Fiori & Newbury) and binned at 10 eV per channel from -200 eV.
The photons of each frame and pixel are split at random over the two detectors. The truth file holds
what nanodose's reader must give: per frame, the counts of every pixel in the Au and Ag windows (the
window rule of datasets/formats/hdf5/velox-stream.ts: channels whose energy lies within one FWHM of
the line, computed here independently from the drawn channels, not from the stream), the summed
spectrum, the HAADF frames and the metadata.
"""
import json
import math
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
os.makedirs(OUT, exist_ok=True)
PATH = os.path.join(OUT, "velox_si.emd")
rng = np.random.default_rng(7)

R, C, F = 16, 16, 3
BINS, DISP_EV, OFFSET_EV = 2048, 10.0, -200.0
PIXEL_M = 0.5e-9
ALPHA_DEG = 10.0
LINES = {"Au_La": 9.7130, "Au_Ma": 2.1229, "Ag_La": 2.9844, "Ag_Lb1": 3.1509}
MNKA, RES_EV = 5.8987, 130.0


def fwhm_kev(e_kev):
    """Fiori & Newbury (1978): FWHM(E)^2 = FWHM(Mn Ka)^2 + 2.5 (E - E(Mn Ka)) [eV]."""
    return math.sqrt(RES_EV ** 2 + 2.5 * (e_kev - MNKA) * 1000.0) / 1000.0


yy, xx = np.mgrid[0:R, 0:C]
au = ((yy - 5.0) ** 2 + (xx - 5.0) ** 2 <= 16).astype(float)  # Au disk radius 4 at (5, 5)
ag = ((yy - 10.5) ** 2 + (xx - 10.5) ** 2 <= 12).astype(float)  # Ag disk at (10.5, 10.5)
# expected photons per pixel per frame of each line; continuum everywhere
rate = {"Au_La": 1.5 * au, "Au_Ma": 0.8 * au, "Ag_La": 1.2 * ag, "Ag_Lb1": 0.5 * ag}
CONT = 0.3

det_events = [[[] for _ in range(F * R * C)] for _ in range(2)]  # [detector][frame*pixel] -> channels
all_channels = np.zeros((F, R, C, BINS), dtype=np.int64)
for f in range(F):
    for p in range(R * C):
        r, c = divmod(p, C)
        chans = []
        for line, e in LINES.items():
            n = rng.poisson(rate[line][r, c])
            if n:
                en = rng.normal(e, fwhm_kev(e) / 2.3548, n)
                chans.extend(np.round((en * 1000.0 - OFFSET_EV) / DISP_EV).astype(int).tolist())
        n = rng.poisson(CONT)
        if n:
            chans.extend(np.round((rng.uniform(0.5, 19.0, n) * 1000.0 - OFFSET_EV) / DISP_EV).astype(int).tolist())
        chans = [min(max(ch, 0), BINS - 1) for ch in chans]
        rng.shuffle(chans)
        for ch in chans:
            det_events[int(rng.integers(0, 2))][f * R * C + p].append(ch)
            all_channels[f, r, c, ch] += 1


def encode(per_pixel):
    """Velox stream: each pixel's channels, then 65535; the mark after the last pixel left out."""
    out = []
    for evs in per_pixel:
        out.extend(sorted(evs))  # Velox writes a pixel's counts in channel order; the decoder does not rely on it
        out.append(65535)
    return np.array(out[:-1], dtype=np.uint16)


# Windows as velox-stream.ts defines them: channel i (energy OFFSET + i DISP) with |E_i - E_line| <= FWHM(E_line).
def window(e_kev):
    w = fwhm_kev(e_kev)
    e = (OFFSET_EV + DISP_EV * np.arange(BINS)) / 1000.0
    idx = np.nonzero(np.abs(e - e_kev) <= w + 1e-12)[0]
    return int(idx[0]), int(idx[-1])


windows = {"Au": window(LINES["Au_La"]), "Ag": window(LINES["Ag_La"])}
maps = {k: all_channels[..., lo: hi + 1].sum(-1) for k, (lo, hi) in windows.items()}

# HAADF frames: Poisson, Au brighter than Ag.
haadf = rng.poisson(20 + 60 * au + 35 * ag, size=(F, R, C)).astype(np.uint16)

uuid_img, uuid_si = "a" * 32, "b" * 32
uuid_det = ["c" * 32, "d" * 32]
det_names = ["SuperXG21", "SuperXG22"]


def jbytes(obj):
    return np.array([json.dumps(obj).encode()])


def meta_array(metas):
    raw = [np.frombuffer(json.dumps(m).encode(), dtype=np.uint8) for m in metas]
    L = max(len(m) for m in raw) + 8
    arr = np.zeros((L, len(raw)), dtype=np.uint8)
    for j, m in enumerate(raw):
        arr[: len(m), j] = m
    return arr


detectors = {"Detector-0": {"DetectorName": "HAADF", "DetectorType": "ScanningDetector"}}
for k, n in enumerate(det_names):
    detectors[f"Detector-{k + 1}"] = {"DetectorName": n, "DetectorType": "AnalyticalDetector", "Dispersion": f"{DISP_EV}", "OffsetEnergy": f"{OFFSET_EV}",
                                      "ElevationAngle": "0.387", "AzimuthAngle": f"{0.785 + k * 1.571}"}
common = {"Detectors": detectors, "Scan": {"FrameTime": "2.5", "DwellTime": "1e-05"}, "Optics": {"AccelerationVoltage": "200000"},
          "Stage": {"AlphaTilt": f"{math.radians(ALPHA_DEG):.12f}", "BetaTilt": "0"},
          "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1764763200"}}, "CustomProperties": {}}
br = {"PixelSize": {"width": f"{PIXEL_M:.6e}", "height": f"{PIXEL_M:.6e}"}, "PixelUnitX": "m", "PixelUnitY": "m", "Offset": {"x": "0", "y": "0"},
      "ImageSize": {"width": str(C), "height": str(R)}}

with h5py.File(PATH, "w") as f:
    f.create_dataset("Version", data=jbytes({"format": "Velox", "version": "3"}))
    f.create_dataset(f"Operations/StemInputOperation/{'e' * 32}", data=jbytes({"dataPath": f"/Data/Image/{uuid_img}", "detector": "HAADF"}))
    f.create_dataset(f"Presentation/Displays/ImageDisplay/{'f' * 32}", data=jbytes({"dataPath": f"/Data/Image/{uuid_img}", "display": {"label": "HAADF"}}))
    g = f.create_group(f"Data/Image/{uuid_img}")
    g.create_dataset("Data", data=np.transpose(haadf, (1, 2, 0)), chunks=(R, C, 1))
    g.create_dataset("Metadata", data=meta_array([{**common, "BinaryResult": {**br, "Detector": "HAADF", "DetectorIndex": "0"}} for _ in range(F)]))
    s = f.create_group(f"Data/SpectrumImage/{uuid_si}")
    s.create_dataset("SpectrumImageSettings", data=jbytes({"endFramePosition": str(F), "startFramePosition": "0"}))
    s.create_dataset("Data", data=np.zeros(1, dtype=np.uint8))
    for k, u in enumerate(uuid_det):
        d = f.create_group(f"Data/SpectrumStream/{u}")
        stream = encode(det_events[k])
        d.create_dataset("Data", data=stream.reshape(-1, 1), chunks=(min(4096, len(stream)), 1), compression="gzip")
        d.create_dataset("Metadata", data=meta_array([{**common, "BinaryResult": {**br, "Detector": det_names[k], "DetectorIndex": str(k + 1)}}]))
        d.create_dataset("AcquisitionSettings", data=jbytes({"bincount": str(BINS), "StreamEncoding": "uint16", "DetectorName": det_names[k]}))

# Damaged copies (the reader must refuse them with one line naming the file): the first detector's
# stream cut after a third of its values (truncated: fewer pixels than 3 frames), and one value
# replaced by channel 40000 (beyond bincount: not a count, a damaged stream).
for name, damage in (("velox_si_truncated.emd", lambda x: x[: len(x) // 3]), ("velox_si_badchannel.emd", lambda x: np.where(np.arange(len(x)) == 100, 40000, x).astype(np.uint16))):
    with h5py.File(PATH, "r") as src, h5py.File(os.path.join(OUT, name), "w") as dst:
        for k in src.keys():
            src.copy(src[k], dst, name=k)
        key = f"Data/SpectrumStream/{uuid_det[0]}/Data"
        x = damage(src[key][:, 0])
        del dst[key]
        dst.create_dataset(key, data=x.reshape(-1, 1))

truth = {
    "file": "velox_si.emd", "shape": [F, R, C], "frames": F, "bincount": BINS, "dispersion_eV": DISP_EV, "offset_eV": OFFSET_EV,
    "alpha_deg": ALPHA_DEG, "pixel_size_nm": PIXEL_M * 1e9,
    "windows": {k: {"lo": lo, "hi": hi, "line_keV": LINES[f"{k}_La"]} for k, (lo, hi) in windows.items()},
    "maps": {k: m.reshape(-1).tolist() for k, m in maps.items()},
    "spectrum": all_channels.sum((0, 1, 2)).tolist(),
    "events": int(all_channels.sum()),
    "haadf": haadf.reshape(-1).tolist(),
}
with open(os.path.join(OUT, "velox_si_truth.json"), "w") as fh:
    json.dump(truth, fh, separators=(",", ":"))
print(f"wrote {PATH} ({os.path.getsize(PATH)} bytes, {truth['events']} events) and velox_si_truth.json")

# The reference reader: HyperSpy's FeiEMDReader must give exactly the counts written.
try:
    import hyperspy.api as hs
except ImportError:
    print("skip: python3-hyperspy is not installed; apt-get install -y python3-hyperspy checks the file with HyperSpy's reader")
else:
    # Per frame, one spectrum image per detector (HyperSpy 1.7.3 with sum_frames=False and
    # sum_EDS_detectors=True keeps the first detector's counts only: stream_to_array fills a given
    # per-frame array only when none is given), summed here.
    sigs = hs.load(PATH, sum_frames=False, sum_EDS_detectors=False)
    si = [x for x in (sigs if isinstance(sigs, list) else [sigs]) if x.metadata.Signal.signal_type == "EDS_TEM" and x.data.ndim == 4]
    assert len(si) == 2, f"HyperSpy found {len(si)} per-frame spectrum images, expected one per detector"
    assert si[0].data.shape == (F, R, C, BINS), si[0].data.shape
    per_frame = sum(np.asarray(x.data, dtype=np.int64) for x in si)
    assert np.array_equal(per_frame, all_channels), "HyperSpy's per-frame spectrum images differ from the counts written"
    ax = si[0].axes_manager[-1]
    assert abs(ax.scale - DISP_EV / 1000) < 1e-12 and abs(ax.offset - OFFSET_EV / 1000) < 1e-12, (ax.scale, ax.offset)
    summed = hs.load(PATH, sum_frames=True)
    s3 = [x for x in (summed if isinstance(summed, list) else [summed]) if x.metadata.Signal.signal_type == "EDS_TEM" and x.data.ndim == 3]
    assert np.array_equal(np.asarray(s3[0].data), all_channels.sum(0)), "HyperSpy's summed spectrum image differs"
    print(f"HyperSpy {hs.__version__ if hasattr(hs, '__version__') else ''} reads {os.path.basename(PATH)}: per-frame {si[0].data.shape} and summed spectrum images equal the counts written")
