import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkFinite, firstNonFinite, unravel } from './finite.ts';

test('firstNonFinite finds NaN and both infinities, -1 when clean', () => {
  assert.is(firstNonFinite(new Float32Array([0, 1, -3e38, 5])), -1);
  assert.is(firstNonFinite(new Float32Array([0, 1, NaN, Infinity])), 2);
  assert.is(firstNonFinite(new Float64Array([0, -Infinity])), 1);
  assert.is(firstNonFinite(new Float32Array([Number.MAX_VALUE])), 0, 'float32 overflow is +Infinity');
});

test('unravel is the C-order inverse of i*B*C + j*C + k', () => {
  assert.equal(unravel(1 * 12 + 2 * 4 + 3, [2, 3, 4]), [1, 2, 3]);
});

test('checkFinite refuses with the source, count and first index; masks and counts when asked', () => {
  const a = new Float32Array(24);
  a[13] = NaN;
  a[20] = -Infinity;
  try {
    checkFinite(a, { source: 'x.mrc', shape: [2, 3, 4], axes: ['angle', 'row', 'col'] });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.match((e as Error).message, /^input: x\.mrc holds 2 non-finite value\(s\) \(first NaN at \[angle 1, row 0, col 1\]\)/);
  }
  assert.ok(Number.isNaN(a[13]), 'refusing leaves the data unchanged');
  assert.is(checkFinite(a, { source: 'x.mrc', mask: true }), 2);
  assert.is(firstNonFinite(a), -1);
  assert.is(a[13], 0);
  assert.is(checkFinite(a, { source: 'x.mrc' }), 0);
});

test.run();
