"""Reads a nanodose shard with h5py (an independent HDF5 client) and checks the EMD 0.2 layout.

usage: /usr/bin/python3 check_shard.py SHARD.h5 EXPECTED.json
EXPECTED.json holds sample values written by the JavaScript side: {"noisy_sum": [...], "clean_first": [...],
"phantom_sum": [...], "index": [...], "split": [...], "dose": [...]}. Prints "OK" or raises.
"""
import json
import sys

import h5py
import numpy as np

path, expected_path = sys.argv[1], sys.argv[2]
exp = json.load(open(expected_path))
with h5py.File(path, "r") as f:
    a = f.attrs
    assert int(a["version_major"]) == 0 and int(a["version_minor"]) == 2, dict(a)
    assert a["generator"] == "nanodose", a["generator"]
    for k in ("generator_version", "seed", "config", "shard_index", "shard_count", "first_sample"):
        assert k in a, k
    json.loads(a["config"])
    for g in ("data", "microscope", "sample", "user", "comments", "samples"):
        assert g in f, g
    n = len(exp["index"])
    for name in ("phantom", "tilt_clean", "tilt_noisy"):
        g = f["data"][name]
        assert int(g.attrs["emd_group_type"]) == 1, name
        d = g["data"]
        assert d.shape[0] == n, (name, d.shape)
        for k in range(1, d.ndim + 1):
            dim = g["dim%d" % k]
            assert dim.shape == (d.shape[k - 1],), (name, k, dim.shape, d.shape)
            assert isinstance(dim.attrs["name"], str) and isinstance(dim.attrs["units"], str), (name, k)
        assert d.chunks is not None and d.chunks[0] == 1, d.chunks
    assert f["data/phantom/data"].compression == "gzip", f["data/phantom/data"].compression
    assert f["data/tilt_noisy/data"].scaleoffset is not None, "noisy counts: scale-offset filter expected"
    assert f["data/tilt_noisy/data"].dtype == np.uint32
    assert f["data/tilt_clean/data"].dtype == np.float32
    assert f["data/tilt_clean/dim3"].attrs["units"] == "[deg]"
    noisy = f["data/tilt_noisy/data"][...]
    clean = f["data/tilt_clean/data"][...]
    phantom = f["data/phantom/data"][...]
    np.testing.assert_array_equal(noisy.reshape(n, -1).sum(axis=1, dtype=np.int64), exp["noisy_sum"])
    np.testing.assert_allclose(clean.reshape(n, -1)[:, :5], np.array(exp["clean_first"], dtype=np.float32), rtol=0, atol=0)
    np.testing.assert_allclose(phantom.reshape(n, -1).sum(axis=1, dtype=np.float64), exp["phantom_sum"], rtol=1e-9)
    s = f["samples"]
    np.testing.assert_array_equal(s["index"][...], exp["index"])
    assert [x.decode() if isinstance(x, bytes) else x for x in s["split"][...]] == exp["split"]
    np.testing.assert_allclose(s["dose"][...], exp["dose"], rtol=1e-15)
    for p in s["params"][...]:
        json.loads(p.decode() if isinstance(p, bytes) else p)
    el = list(f["sample"].attrs["elements"])
    assert len(el) == phantom.shape[1], el
print("OK")
