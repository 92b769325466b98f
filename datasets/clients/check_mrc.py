"""Validates MRC files with mrcfile.validate (an independent MRC 2014 client) and checks the data.

usage: /usr/bin/python3 check_mrc.py FILE.mrc SUM KIND   (KIND volume|stack). Prints "OK" or exits 1.
"""
import sys

import mrcfile
import numpy as np

path, total, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ok = mrcfile.validate(path, print_file=sys.stdout)
if not ok:
    sys.exit("mrcfile.validate failed for " + path)
with mrcfile.open(path, permissive=False) as m:
    assert m.data.dtype == np.float32, m.data.dtype
    s = float(m.data.astype(np.float64).sum())
    assert abs(s - total) <= 1e-6 * max(1.0, abs(total)), (s, total)
    if kind == "volume":
        assert m.is_volume(), "expected a volume (ispg 1)"
    else:
        assert m.is_image_stack(), "expected an image stack (ispg 0)"
print("OK")
