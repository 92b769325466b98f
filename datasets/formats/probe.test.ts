/**
 * formats/probe.ts against the readers: for every fixture the metadata-only probe gives the same
 * channels, shape, angles and pixel size as readTiltStack, and its sample is the first projection
 * of each channel exactly (so the probe's HDF5 slabs follow the readers' axis orders).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readTiltStack } from './index.ts';
import { probeTiltStack } from './probe.ts';

const FX = fileURLToPath(new URL('./testing/fixtures/', import.meta.url));

test('probe agrees with the readers on every fixture', async () => {
  for (const f of ['tilt_Au.mrc', 'tilt_Au_imagej.tif', 'tilt_Au_deflate_be.tif', 'tilt_v5.mat', 'tilt_v5_plain.mat', 'tilt_v5_anglefirst.mat', 'tilt_v73.mat', 'tilt_velox.emd', 'tilt_HAADF.hspy', 'tilt_Au.hspy', 'tilt_channels.h5']) {
    const p = join(FX, f);
    const s = await readTiltStack(p);
    const q = await probeTiltStack(p);
    assert.is(q.format, s.format, f);
    assert.equal(q.shape, s.shape, f);
    assert.equal(q.channels.map((c) => c.name), s.channels.map((c) => c.name), f);
    assert.equal(q.angles ? Array.from(q.angles) : undefined, s.angles ? Array.from(s.angles) : undefined, f);
    assert.is(q.pixelSizeNm, s.pixelSizeNm, f);
    const plane = s.shape[1] * s.shape[2];
    s.channels.forEach((c, k) => assert.equal(Array.from(q.channels[k].sample), Array.from(c.data.subarray(0, plane)), `${f} ${c.name}`));
  }
  const v = await probeTiltStack(join(FX, 'tilt_velox.emd'));
  assert.equal(v.channels.map((c) => c.dtype), ['uint16', 'uint16']);
});

test.run();
