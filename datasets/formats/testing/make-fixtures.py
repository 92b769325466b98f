#!/usr/bin/python3
"""Makes the small tilt-series fixtures of datasets/formats with the reference writers (Debian's
python3-h5py, -scipy, -mrcfile, -hyperspy, -tifffile): the same two-channel series (HAADF, Au; 9 tilts of
12 x 16 px) as MRC + .tlt, MATLAB v5 (scipy.io.savemat) and v7.3 (HDF5 with a 512-byte user block
and MATLAB_class attributes, as MATLAB writes it), a Velox-like .emd, a HyperSpy .hspy, a plain
HDF5 file with named channels, an ImageJ TIFF and a Deflate big-endian TIFF (tifffile). Run from the repository root:

    /usr/bin/python3 datasets/formats/testing/make-fixtures.py

The series: Poisson counts (seed 20) of a ball and a rod projected in parallel beam, so every
channel differs and a mixed-up axis order shows in the tests. Files are kept small to commit.
"""
import json
import os

import h5py
import mrcfile
import numpy as np
import scipy.io

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20)
A, R, C = 9, 12, 16
angles = np.linspace(-60.0, 60.0, A)
PIXEL_NM = 0.25

u = np.arange(C) - (C - 1) / 2
v = np.arange(R) - (R - 1) / 2


def projections(scale):
    out = np.zeros((A, R, C))
    for k, th in enumerate(np.deg2rad(angles)):
        # ball of radius 4 at (x, y, z) = (2, -1, 1): chord 2 sqrt(r^2 - d^2)
        t = 2 * np.cos(th) - 1 * np.sin(th)
        d2 = (u[None, :] - t) ** 2 + (v[:, None] - 1) ** 2
        out[k] += 2 * np.sqrt(np.clip(16 - d2, 0, None))
        # rod along the tilt axis at (x, y) = (-3, 2), radius 2, rows -4..3
        t2 = -3 * np.cos(th) + 2 * np.sin(th)
        rod = 2 * np.sqrt(np.clip(4 - (u - t2) ** 2, 0, None))
        out[k, 2:10] += rod[None, :]
    return rng.poisson(out * scale).astype(np.float64)


haadf = projections(6.0)
au = projections(0.8)
channels = {"HAADF": haadf, "Au": au}

# MRC stack + .tlt (the reference every other format must match)
with mrcfile.new(os.path.join(OUT, "tilt_Au.mrc"), overwrite=True) as m:
    m.set_data(au.astype(np.float32))
    m.voxel_size = PIXEL_NM * 10
with mrcfile.new(os.path.join(OUT, "tilt_HAADF.mrc"), overwrite=True) as m:
    m.set_data(haadf.astype(np.float32))
    m.voxel_size = PIXEL_NM * 10
for name in ("tilt_Au", "tilt_HAADF", "tilt"):
    with open(os.path.join(OUT, name + ".tlt"), "w") as f:
        f.write("".join(f"{a:.2f}\n" for a in angles))

# MATLAB stores a stack as X(row, col, angle); column-major.
mat = {k: np.transpose(x, (1, 2, 0)) for k, x in channels.items()}
scipy.io.savemat(os.path.join(OUT, "tilt_v5.mat"), {**mat, "angles": angles, "pixel_size_nm": PIXEL_NM}, do_compression=True)
scipy.io.savemat(os.path.join(OUT, "tilt_v5_plain.mat"), {"Au": mat["Au"].astype(np.float32), "tilt_angles": angles.reshape(-1, 1)}, do_compression=False)

# MATLAB v7.3: HDF5 after a 512-byte user block; arrays transposed (HDF5 shape = reversed MATLAB size).
p73 = os.path.join(OUT, "tilt_v73.mat")
with h5py.File(p73, "w", userblock_size=512) as f:
    for k, x in {**mat, "angles": angles.reshape(1, -1), "pixel_size_nm": np.array([[PIXEL_NM]])}.items():
        d = f.create_dataset(k, data=np.ascontiguousarray(x.T))
        d.attrs["MATLAB_class"] = np.bytes_("double")
with open(p73, "r+b") as f:
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Wed Dec  2 12:00:00 2026 HDF5 schema 1.00 ."
    f.write(head.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM")

# Velox-like EMD: /Data/Image/<uuid>/Data is (rows, cols, frames), Metadata is JSON text per frame
# (uint8, (length, frames)) with the detector name, the pixel size in metres and the stage alpha tilt in radians.
with h5py.File(os.path.join(OUT, "tilt_velox.emd"), "w") as f:
    f.attrs["version_major"] = 0
    f.attrs["version_minor"] = 2
    for i, (k, x) in enumerate(channels.items()):
        g = f.create_group(f"Data/Image/{i:032x}")
        g.create_dataset("Data", data=np.transpose(x, (1, 2, 0)).astype(np.uint16))
        metas = []
        for a in angles:
            meta = {"BinaryResult": {"Detector": k, "PixelSize": {"width": f"{PIXEL_NM * 1e-9:.6e}", "height": f"{PIXEL_NM * 1e-9:.6e}"}, "PixelUnitX": "m", "PixelUnitY": "m"},
                    "Stage": {"AlphaTilt": f"{np.deg2rad(a):.9f}"}}
            metas.append(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        L = max(len(m) for m in metas) + 8
        arr = np.zeros((L, A), dtype=np.uint8)
        for j, m in enumerate(metas):
            arr[: len(m), j] = m
        g.create_dataset("Metadata", data=arr)

# HyperSpy .hspy: one Signal2D per channel, navigation axis = tilt in degrees.
import hyperspy.api as hs  # noqa: E402

for k, x in channels.items():
    s = hs.signals.Signal2D(x.astype(np.float32))
    s.metadata.General.title = k
    s.axes_manager[0].name, s.axes_manager[0].units = "tilt", "deg"
    s.axes_manager[0].offset, s.axes_manager[0].scale = float(angles[0]), float(angles[1] - angles[0])
    for ax in (1, 2):
        s.axes_manager[ax].units, s.axes_manager[ax].scale = "nm", PIXEL_NM
    s.save(os.path.join(OUT, f"tilt_{k}.hspy"), overwrite=True)

# Plain HDF5 with named channels (as a lab's own script writes it): /tilt/<channel> [angle, row, col] + /tilt/angles.
with h5py.File(os.path.join(OUT, "tilt_channels.h5"), "w") as f:
    for k, x in channels.items():
        f.create_dataset(f"tilt/{k}", data=x.astype(np.float32))
    f.create_dataset("tilt/angles", data=angles)
# ImageJ TIFF (tifffile, as Fiji writes it): pixel size 0.25 nm in the calibration.
import tifffile  # noqa: E402

tifffile.imwrite(os.path.join(OUT, "tilt_Au_imagej.tif"), au.astype(np.float32), imagej=True,
                 resolution=(1 / PIXEL_NM, 1 / PIXEL_NM), metadata={"unit": "nm", "axes": "ZYX"})
# TIFF as other writers store it: big-endian uint16, Deflate with the horizontal predictor, 5 rows per
# strip (formats/tiff/tiff.ts decodes strips through utif2 and reads only the strips of the rows asked for).
tifffile.imwrite(os.path.join(OUT, "tilt_Au_deflate_be.tif"), au.astype(np.uint16), byteorder=">",
                 compression="zlib", predictor=True, rowsperstrip=5)
# MATLAB v5 with the angle axis first, X(angle, row, col): projection 0 is strided over the whole array,
# so a partial read (formats/matlab/mat5.ts) must pick values across the compressed stream.
scipy.io.savemat(os.path.join(OUT, "tilt_v5_anglefirst.mat"), {"Au": au, "angles": angles}, do_compression=True)
print("wrote", sorted(os.listdir(OUT)))

# ---------------------------------------------------------------------------------------------
# End-to-end fixtures (scripts/commands/userdata-e2e.test.ts): one phantom, its parameters in
# e2e_phantom.json, projected analytically in nanodose's geometry (generators/projection/geometry.ts:
# volume [z, y, x] centred, t = x cos(theta) + y sin(theta), column (C-1)/2 + axis offset + t, row
# (R-1)/2 + z) with a tilt-axis offset of +2 px and per-view jitter (about 1 px), Poisson counts. Written
# as a MATLAB v5 .mat (integer counts), a MATLAB v7.3 .mat (Au stored as counts / 50, single) and a
# Velox-like .emd with 2 frames per view (uint16, the stage tilt repeated per frame).
E_A = np.arange(-60.0, 60.1, 10.0)
E_R, E_C = 20, 32
E_OFF = 2.0
erng = np.random.default_rng(2020)
e_shift_c = erng.integers(-1, 2, len(E_A)).astype(float)
e_shift_r = erng.integers(-1, 2, len(E_A)).astype(float)
e_shift_r[len(E_A) // 2] = 0
# Column jitter without the parts alignment cannot see (a particle translation x cos + y sin, and a
# constant, which is the axis offset): the least-squares fit d = c + x cos + y sin of the jitter is 0.
_M = np.stack([np.ones(len(E_A)), np.cos(np.deg2rad(E_A)), np.sin(np.deg2rad(E_A))], 1)
e_shift_c = np.round(e_shift_c - _M @ np.linalg.lstsq(_M, e_shift_c, rcond=None)[0], 4)
phantom = {
    "ball": {"center_xyz": [4.0, -3.0, 2.0], "radius": 6.0},
    "rod": {"center_xy": [-6.0, 5.0], "radius": 3.0, "z": [-7.0, 5.0]},
    "axis_offset_px": E_OFF,
    "shifts_rows": e_shift_r.tolist(),
    "shifts_cols": e_shift_c.tolist(),
    "angles_deg": E_A.tolist(),
    "shape": [len(E_A), E_R, E_C],
    "counts_per_unit_length": {"HAADF": 8.0, "Au": 0.6},
    "pixel_size_nm": 0.5,
}


def e2e_projections(scale):
    eu = np.arange(E_C) - (E_C - 1) / 2
    ev = np.arange(E_R) - (E_R - 1) / 2
    out = np.zeros((len(E_A), E_R, E_C))
    b, r = phantom["ball"], phantom["rod"]
    for k, th in enumerate(np.deg2rad(E_A)):
        du, dv = E_OFF + e_shift_c[k], e_shift_r[k]
        x, y, z = b["center_xyz"]
        t = x * np.cos(th) + y * np.sin(th)
        d2 = (eu[None, :] - du - t) ** 2 + (ev[:, None] - dv - z) ** 2
        out[k] += 2 * np.sqrt(np.clip(b["radius"] ** 2 - d2, 0, None))
        xr, yr = r["center_xy"]
        t2 = xr * np.cos(th) + yr * np.sin(th)
        chord = 2 * np.sqrt(np.clip(r["radius"] ** 2 - (eu - du - t2) ** 2, 0, None))
        rows = (ev - dv >= r["z"][0]) & (ev - dv <= r["z"][1])
        out[k][rows, :] += chord[None, :]
    return out * scale


e_clean = {k: e2e_projections(s) for k, s in phantom["counts_per_unit_length"].items()}
e_counts = {k: erng.poisson(x).astype(np.float64) for k, x in e_clean.items()}
with open(os.path.join(OUT, "e2e_phantom.json"), "w") as f:
    json.dump(phantom, f, indent=1)
e_mat = {k: np.transpose(x, (1, 2, 0)) for k, x in e_counts.items()}
scipy.io.savemat(os.path.join(OUT, "e2e_v5.mat"), {**e_mat, "angles": E_A, "pixel_size_nm": 0.5}, do_compression=True)
p73 = os.path.join(OUT, "e2e_v73.mat")
with h5py.File(p73, "w", userblock_size=512) as f:
    v73 = {"HAADF": (e_mat["HAADF"].astype(np.uint16), "uint16"), "Au": ((e_mat["Au"] / 50).astype(np.float32), "single"),
           "angles": (E_A.reshape(1, -1), "double"), "pixel_size_nm": (np.array([[0.5]]), "double")}
    for k, (x, cls) in v73.items():
        d = f.create_dataset(k, data=np.ascontiguousarray(x.T), compression="gzip" if x.size > 16 else None)
        d.attrs["MATLAB_class"] = np.bytes_(cls)
with open(p73, "r+b") as f:
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Wed Dec  2 15:40:00 2026 HDF5 schema 1.00 ."
    f.write(head.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM")
# Velox with 2 frames per view: each frame a Poisson draw at half the counts (their sum is one view).
with h5py.File(os.path.join(OUT, "e2e_velox.emd"), "w") as f:
    f.attrs["version_major"] = 0
    f.attrs["version_minor"] = 2
    for i, (k, lam) in enumerate(e_clean.items()):
        fr = np.stack([erng.poisson(lam / 2) for _ in range(2)], axis=1).reshape(2 * len(E_A), E_R, E_C)
        g = f.create_group(f"Data/Image/{i + 10:032x}")
        g.create_dataset("Data", data=np.transpose(fr, (1, 2, 0)).astype(np.uint16), compression="gzip", chunks=(E_R, E_C, 1))
        metas = []
        for a in np.repeat(E_A, 2):
            meta = {"BinaryResult": {"Detector": k, "PixelSize": {"width": "5.0e-10", "height": "5.0e-10"}, "PixelUnitX": "m", "PixelUnitY": "m"},
                    "Stage": {"AlphaTilt": f"{np.deg2rad(a):.12f}"}}
            metas.append(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        L = max(len(m) for m in metas) + 8
        arr = np.zeros((L, len(metas)), dtype=np.uint8)
        for j, m in enumerate(metas):
            arr[: len(m), j] = m
        g.create_dataset("Metadata", data=arr, compression="gzip")
print("wrote the e2e fixtures", sorted(x for x in os.listdir(OUT) if x.startswith("e2e")))
