#!/usr/bin/python3
"""Reference timing for the projector benchmark: scikit-image's radon (forward projection, single thread)
on one N x N slice with the same tilt angles. Run with Debian's /usr/bin/python3. Prints one JSON line."""
import json, sys, time
import numpy as np
from skimage.transform import radon

N = int(sys.argv[1]); n_angles = int(sys.argv[2]); reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
theta = -90 + np.arange(n_angles) * (180.0 / n_angles)
y, x = np.mgrid[0:N, 0:N]
img = (((x - N / 2) ** 2 + (y - N / 2) ** 2) < (0.35 * N) ** 2).astype(np.float64)
radon(img, theta=theta, circle=True)  # warm-up
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    radon(img, theta=theta, circle=True)
    times.append(time.perf_counter() - t0)
print(json.dumps({"N": N, "angles": n_angles, "perSliceSec": float(np.median(times)), "minSec": float(min(times))}))
