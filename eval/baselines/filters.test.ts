// The Gaussian, box and median filters against scipy.ndimage (mode 'reflect'; fixtures/filters.json,
// made by scripts/fixtures/scipy_fixtures.py), on small images including 1-pixel-wide ones and
// kernels longer than the image (reflection over more than one period).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { boxFilter, gaussianFilter, medianFilter } from './filters.ts';

interface Fixture {
  images: { h: number; w: number; data: number[] }[];
  cases: { image: number; filter: 'gaussian' | 'box' | 'median'; param: number; out: number[] }[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/filters.json', import.meta.url), 'utf8')) as Fixture;
const run = { gaussian: gaussianFilter, box: boxFilter, median: medianFilter };

test('gaussian_filter, uniform_filter and median_filter of scipy.ndimage: same values to float32 rounding', () => {
  const seen = new Set<string>();
  for (const c of fixture.cases) {
    const { h, w, data } = fixture.images[c.image];
    const got = run[c.filter](Float32Array.from(data), h, w, c.param);
    assert.is(got.length, h * w);
    let err = 0, scale = 0;
    for (let i = 0; i < got.length; i++) { err = Math.max(err, Math.abs(got[i] - c.out[i])); scale = Math.max(scale, Math.abs(c.out[i])); }
    // The filters return float32: up to half an ulp of float32 from the float64 reference; the median picks an input value.
    const tol = c.filter === 'median' ? 0 : 1e-6 * scale;
    assert.ok(err <= tol, `${c.filter} ${c.param} on ${h}x${w}: max difference ${err} (tolerance ${tol})`);
    seen.add(c.filter);
  }
  assert.equal([...seen].sort(), ['box', 'gaussian', 'median']);
});

test.run();
