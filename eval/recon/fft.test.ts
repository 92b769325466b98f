// eval/recon/fft.ts against numpy.fft (fixtures/fft.json, made by scripts/fixtures/scipy_fixtures.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fft, nextPow2 } from './fft.ts';

interface FftCase { n: number; re: number[]; im: number[]; fftRe: number[]; fftIm: number[]; ifftRe: number[]; ifftIm: number[] }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/fft.json', import.meta.url), 'utf8')) as { cases: FftCase[] };

/** max |a - b| over both parts, relative to the largest modulus of b. */
function relErr(re: Float64Array, im: Float64Array, bre: number[], bim: number[]): number {
  let err = 0, scale = 0;
  for (let i = 0; i < re.length; i++) {
    err = Math.max(err, Math.hypot(re[i] - bre[i], im[i] - bim[i]));
    scale = Math.max(scale, Math.hypot(bre[i], bim[i]));
  }
  return err / scale;
}

test('fft and inverse fft equal numpy.fft.fft / ifft to 1e-13 (lengths 1 .. 256)', () => {
  assert.ok(fixture.cases.length >= 5);
  for (const c of fixture.cases) {
    const re = Float64Array.from(c.re), im = Float64Array.from(c.im);
    fft(re, im);
    const ef = relErr(re, im, c.fftRe, c.fftIm);
    assert.ok(ef < 1e-13, `n = ${c.n}: forward differs from numpy by ${ef}`);
    const ire = Float64Array.from(c.re), iim = Float64Array.from(c.im);
    fft(ire, iim, true);
    const ei = relErr(ire, iim, c.ifftRe, c.ifftIm);
    assert.ok(ei < 1e-13, `n = ${c.n}: inverse differs from numpy by ${ei}`);
  }
});

test('fft refuses lengths that are not powers of two; nextPow2', () => {
  assert.throws(() => fft(new Float64Array(6), new Float64Array(6)), /not a power of two/);
  assert.equal([1, 2, 3, 5, 64, 65].map(nextPow2), [1, 2, 4, 8, 64, 128]);
});

test.run();
