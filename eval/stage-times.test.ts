import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StageTimes } from './stage-times.ts';

/** A clock the test moves by hand (no timing in tests). */
function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

test('sums intervals per stage, in the evaluate order, with the rest as other', async () => {
  const c = clock();
  const st = new StageTimes(c.now);
  st.start('metrics'); c.advance(1000); st.stop('metrics');
  await st.time('denoising', () => { c.advance(4000); });
  st.start('metrics'); c.advance(500); st.stop('metrics');
  st.add('reconstruction', 3000);
  assert.equal(st.seconds(), [['denoising', 4], ['reconstruction', 3], ['metrics', 1.5]]);
  assert.is(st.format(10), 'eval time: denoising 4.00 s (40%), reconstruction 3.00 s (30%), metrics 1.50 s (15%), other 1.50 s (15%) of 10.0 s');
  assert.is(st.format(), 'eval time: denoising 4.00 s (47%), reconstruction 3.00 s (35%), metrics 1.50 s (18%) of 8.50 s');
});

test('overlapping intervals (concurrent blocks) count in full and are flagged; errors name the stage', async () => {
  const c = clock();
  const st = new StageTimes(c.now);
  st.start('reconstruction'); c.advance(1000); st.start('reconstruction'); c.advance(1000); st.stop('reconstruction'); st.stop('reconstruction');
  assert.equal(st.seconds(), [['reconstruction', 3]]);
  assert.match(st.format(2), /stages overlap: 3\.00 s of stage time of 2\.00 s$/);
  assert.throws(() => st.stop('slices'), /stop\('slices'\): no interval/);
  assert.throws(() => st.add('slices', Number.NaN), /finite number/);
  // time() stops the interval when its function throws.
  try { await st.time('report', () => { c.advance(250); throw new Error('x'); }); } catch { /* expected */ }
  const other = new StageTimes(c.now);
  other.add('report', 750);
  st.merge(other);
  assert.equal(st.seconds(), [['reconstruction', 3], ['report', 1]]);
  assert.is(new StageTimes(c.now).format(), 'eval time: nothing timed of 0.00 s');
});

test.run();
