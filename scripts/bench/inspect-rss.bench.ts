/**
 * Peak memory of `nanodose inspect FILE` on large tilt series (issue 16: under 200 MB for any
 * file). Writes, in a temporary folder with the reference writers (Python: tifffile, scipy.io), a
 * multi-page float32 TIFF and an uncompressed MATLAB v5 .mat of about BENCH_INSPECT_MB MB each
 * (default 400), and a compressed .mat (MATLAB's default `save`) holding as many values (counts
 * compress about 8-fold, so that file is smaller on disk), runs the CLI on each in a child under `/usr/bin/time -v`
 * ("Maximum resident set size") and prints the figure against the file's size, and against the CLI
 * on the small committed fixture of the same format (the floor: Node, tsx and the modules).
 *
 *   npm run bench -- inspect-rss             (BENCH_INSPECT_MB=100 for a quicker run)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../../core/validate.ts';

const MB = Number(process.env.BENCH_INSPECT_MB ?? 400);
const TIME = '/usr/bin/time', PY = '/usr/bin/python3';
for (const [exe, pkg] of [[TIME, 'time'], [PY, 'python3 python3-scipy python3-tifffile']] as const) {
  if (!existsSync(exe)) {
    console.log(`${exe} is not installed (Debian: apt-get install ${pkg}): peak RSS not measured`);
    process.exit(0);
  }
}
const cli = fileURLToPath(new URL('../nanodose.mjs', import.meta.url));
const FX = fileURLToPath(new URL('../../datasets/formats/testing/fixtures/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-bench-inspect-'));

/** Max RSS (MiB) and seconds of `nanodose inspect FILE`. */
function inspect(file: string): { mib: number; s: number } {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-v', process.execPath, cli, 'inspect', file], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new InternalError(`inspect ${file} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { mib: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]) / 1024, s };
}

try {
  // 1024 x 1024 projections: float32 pages of 4 MiB (TIFF), float64 X(row, col, angle) (MATLAB)
  const n = 1024, pagesTif = Math.max(1, Math.round((MB * 1e6) / (4 * n * n))), anglesMat = Math.max(1, Math.round((MB * 1e6) / (8 * n * n)));
  const tif = join(root, 'big.tif'), mat = join(root, 'big.mat'), matz = join(root, 'big-compressed.mat');
  const py = `
import numpy as np, scipy.io, tifffile
rng = np.random.default_rng(1)
lam = 20 + 10 * np.sin(np.arange(${n})[:, None] / 40.0) * np.cos(np.arange(${n})[None, :] / 30.0)
with tifffile.TiffWriter(${JSON.stringify(tif)}) as w:
    for k in range(${pagesTif}):
        w.write(rng.poisson(lam).astype(np.float32), contiguous=True)
x = np.empty((${n}, ${n}, ${anglesMat}))
for k in range(${anglesMat}):
    x[:, :, k] = rng.poisson(lam)
for path, z in ((${JSON.stringify(mat)}, False), (${JSON.stringify(matz)}, True)):
    scipy.io.savemat(path, {"Au": x, "angles": np.linspace(-70, 70, ${anglesMat})}, do_compression=z)
`;
  const t0 = performance.now();
  const w = spawnSync(PY, ['-c', py], { encoding: 'utf8' });
  if (w.status !== 0) {
    console.log(`could not write the files with Python (${w.stderr.trim().split('\n').pop()}): peak RSS not measured`);
    process.exit(0);
  }
  console.log(`wrote ${(statSync(tif).size / 1e6).toFixed(0)} MB TIFF (${pagesTif} x ${n} x ${n} float32), ${(statSync(mat).size / 1e6).toFixed(0)} MB .mat and ${(statSync(matz).size / 1e6).toFixed(0)} MB compressed .mat (${n} x ${n} x ${anglesMat} double) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  for (const [label, big, small] of [['TIFF', tif, 'tilt_Au_imagej.tif'], ['MATLAB v5', mat, 'tilt_v5_plain.mat'], ['MATLAB v5 compressed', matz, 'tilt_v5.mat']] as const) {
    const b = inspect(big), f = inspect(join(FX, small));
    const size = statSync(big).size / 2 ** 20;
    console.log(`inspect ${label} ${size.toFixed(0)} MiB: peak RSS ${b.mib.toFixed(0)} MiB in ${b.s.toFixed(1)} s (${small}, ${(statSync(join(FX, small)).size / 1024).toFixed(0)} KiB: ${f.mib.toFixed(0)} MiB; difference ${(b.mib - f.mib).toFixed(0)} MiB); target < 200 MB (${(200e6 / 2 ** 20).toFixed(0)} MiB): ${b.mib * 2 ** 20 < 200e6 ? 'met' : 'NOT met'}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
