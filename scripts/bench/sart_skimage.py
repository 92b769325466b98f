#!/usr/bin/python3
"""Reference timing for the SIRT benchmark: scikit-image's iradon_sart, one SART iteration per call,
on `slices` z-slices of an N x N phantom with the same 60 tilt angles (run with Debian's
/usr/bin/python3, which has scikit-image). Prints one JSON line."""
import json, sys, time
import numpy as np
from skimage.transform import radon, iradon_sart

N = int(sys.argv[1]); n_angles = int(sys.argv[2]); slices = int(sys.argv[3])
theta = -90 + np.arange(n_angles) * (180.0 / n_angles)
y, x = np.mgrid[0:N, 0:N]
img = (((x - N / 2) ** 2 + (y - N / 2) ** 2) < (0.35 * N) ** 2).astype(np.float64)
img += (((x - 0.45 * N) ** 2 + (y - 0.55 * N) ** 2) < (0.12 * N) ** 2)
sino = radon(img, theta=theta, circle=True)
iradon_sart(sino, theta=theta)  # warm-up
times = []
for s in range(slices):
    t0 = time.perf_counter()
    rec = iradon_sart(sino, theta=theta)
    times.append(time.perf_counter() - t0)
err = float(np.linalg.norm(rec * (img * rec).sum() / (rec * rec).sum() - img) / np.linalg.norm(img))
print(json.dumps({"N": N, "angles": n_angles, "slices": slices, "perSliceIterationSec": float(np.median(times)), "minSec": float(min(times)), "nrmseAfterOneIteration": err}))
