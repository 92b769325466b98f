/**
 * Every kernel nanodose registers on wasm against the reference `cpu` backend, on random inputs:
 * all paddings (same, valid, explicit), strides 1-3, kernel sizes 1-4, odd sizes, to 1e-4 relative.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { randomValues, relativeError, runOn } from '../testing.ts';
import { WASM_TRAINING_KERNELS } from './register.ts';
import { getFilterGradMethod, setFilterGradMethod, setTransposedMethod } from './conv.ts';
import { DEFAULT_FILTER_GRAD_CHUNK_CAP, setFilterGradChunkCap } from './filter_grad.ts';
import { setTransposedSplit } from './transposed_conv.ts';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const TOL = 1e-4;

async function compare(label: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const ref = await runOn('cpu', fn);
  const got = await runOn('wasm', fn);
  assert.is(got.length, ref.length, label);
  for (let i = 0; i < ref.length; i++) {
    const e = relativeError(got[i], ref[i]);
    assert.ok(e <= TOL, `${label} output ${i}: relative error ${e.toExponential(2)} > ${TOL}`);
  }
}

const cases: { x: [number, number, number, number]; k: [number, number]; co: number; s: number | [number, number]; pad: Pad }[] = [];
for (const s of [1, 2, 3]) {
  for (const k of [1, 2, 3, 4]) {
    for (const pad of ['same', 'valid'] as Pad[]) cases.push({ x: [2, 7, 9, 3], k: [k, k], co: 5, s, pad });
  }
}
cases.push({ x: [1, 8, 8, 4], k: [3, 3], co: 2, s: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] });
cases.push({ x: [3, 11, 6, 2], k: [3, 2], co: 3, s: [2, 1], pad: 'same' });
cases.push({ x: [2, 5, 13, 3], k: [2, 3], co: 4, s: [1, 3], pad: 'valid' });
cases.push({ x: [1, 9, 9, 2], k: [3, 3], co: 2, s: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] });
// Wide enough for the column-folded filter gradient (F = 8 for batch 2, F = 4 for batch 16), odd widths.
for (const k of [1, 2, 3, 5]) for (const pad of ['same', 'valid'] as Pad[]) cases.push({ x: [2, 5, 37, 3], k: [3, k], co: 4, s: 1, pad });
cases.push({ x: [16, 4, 21, 2], k: [3, 3], co: 3, s: 1, pad: 'same' });
cases.push({ x: [3, 6, 40, 2], k: [2, 4], co: 2, s: 1, pad: [[0, 0], [1, 0], [3, 2], [0, 0]] });

async function convGradCases(list: typeof cases, tag = ''): Promise<void> {
  for (const c of list) {
    const [b, h, w, ci] = c.x;
    const xv = randomValues(b * h * w * ci, 1);
    const wv = randomValues(c.k[0] * c.k[1] * ci * c.co, 2);
    const fn = () => {
      const x = tf.tensor4d(xv, c.x);
      const f = tf.tensor4d(wv, [c.k[0], c.k[1], ci, c.co]);
      const y0 = tf.conv2d(x, f, c.s, c.pad as never);
      const r = tf.tensor(randomValues(y0.size, 3), y0.shape);
      const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.s, c.pad as never), r)));
      return g([x, f]);
    };
    await compare(`${tag}x ${c.x} k ${c.k} s ${c.s} pad ${JSON.stringify(c.pad)}`, fn);
  }
}

test('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput) match cpu for all strides and paddings', async () => {
  await convGradCases(cases);
});

// U-Net shapes (batch and size scaled down): 1 -> 32 first conv (few channels), 32 -> 32, concat
// 64 -> 32, the 1x1 output conv, strided 3x3 down on even and odd sizes, a deep level (swapped path).
const unetCases: typeof cases = [
  { x: [2, 16, 16, 1], k: [3, 3], co: 32, s: 1, pad: 'same' },
  { x: [2, 16, 16, 32], k: [3, 3], co: 32, s: 1, pad: 'same' },
  { x: [2, 12, 10, 64], k: [3, 3], co: 32, s: 1, pad: 'same' },
  { x: [2, 16, 16, 32], k: [1, 1], co: 1, s: 1, pad: 'same' },
  { x: [2, 16, 16, 16], k: [3, 3], co: 32, s: 2, pad: 'same' },
  { x: [2, 15, 17, 8], k: [3, 3], co: 8, s: 2, pad: 'same' },
  { x: [2, 15, 17, 8], k: [3, 3], co: 8, s: 2, pad: 'valid' },
  { x: [2, 16, 16, 8], k: [2, 2], co: 8, s: 2, pad: 'valid' },
  { x: [1, 6, 6, 256], k: [3, 3], co: 8, s: 1, pad: 'same' },
];

test('Conv2DBackpropFilter chunked products: many chunks (boundaries inside grid rows), U-Net shapes, both methods', async () => {
  const method = getFilterGradMethod();
  try {
    for (const cap of [37, 256, DEFAULT_FILTER_GRAD_CHUNK_CAP, 16384]) {
      setFilterGradChunkCap(cap);
      await convGradCases([...unetCases, ...cases.filter((_, i) => i % 3 === 0)], `chunk cap ${cap}: `);
    }
    setFilterGradChunkCap(DEFAULT_FILTER_GRAD_CHUNK_CAP);
    setFilterGradMethod('swapped');
    await convGradCases(unetCases, 'swapped: ');
  } finally {
    setFilterGradMethod(method);
    setFilterGradChunkCap(DEFAULT_FILTER_GRAD_CHUNK_CAP);
  }
});

test('transposed-conv (U-Net up, 2x2 stride 2) gradients match cpu, kernel = stride filter gradient', async () => {
  for (const [b, h, w, ci, co] of [[2, 8, 8, 64, 32], [1, 5, 7, 6, 3]]) {
    const xv = randomValues(b * h * w * ci, 21);
    const wv = randomValues(2 * 2 * co * ci, 22);
    const rv = randomValues(b * 2 * h * 2 * w * co, 23);
    await compare(`transpose grads x ${[b, h, w, ci]} -> ${co}`, () => {
      const x = tf.tensor4d(xv, [b, h, w, ci]);
      const f = tf.tensor4d(wv, [2, 2, co, ci]);
      const r = tf.tensor4d(rv, [b, 2 * h, 2 * w, co]);
      return tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(xx as tf.Tensor4D, ff as tf.Tensor4D, [b, 2 * h, 2 * w, co], 2, 'same'), r)))([x, f]);
    });
  }
});

test('conv2dTranspose forward (Conv2DBackpropInput) matches cpu: kernel = stride, zero insertion, stride 1', async () => {
  const tcases: { x: [number, number, number, number]; k: number; s: number; pad: 'same' | 'valid'; co: number }[] = [
    { x: [2, 5, 7, 4], k: 2, s: 2, pad: 'same', co: 3 },
    { x: [2, 5, 7, 4], k: 2, s: 2, pad: 'valid', co: 3 },
    { x: [1, 4, 6, 3], k: 3, s: 2, pad: 'same', co: 2 },
    { x: [1, 4, 6, 3], k: 3, s: 2, pad: 'valid', co: 2 },
    { x: [1, 5, 5, 2], k: 3, s: 1, pad: 'same', co: 2 },
    { x: [1, 3, 4, 2], k: 3, s: 3, pad: 'valid', co: 2 },
  ];
  for (const c of tcases) {
    const [b, h, w, ci] = c.x;
    const outH = c.pad === 'same' ? h * c.s : (h - 1) * c.s + c.k;
    const outW = c.pad === 'same' ? w * c.s : (w - 1) * c.s + c.k;
    const xv = randomValues(b * h * w * ci, 4);
    const wv = randomValues(c.k * c.k * c.co * ci, 5);
    await compare(`transpose x ${c.x} k ${c.k} s ${c.s} ${c.pad}`, () =>
      tf.conv2dTranspose(tf.tensor4d(xv, c.x), tf.tensor4d(wv, [c.k, c.k, c.co, ci]), [b, outH, outW, c.co], c.s, c.pad),
    );
  }
});

test('kernel = stride transposed conv (matrix product per kernel row / for all rows, 1x1 conv) matches cpu: odd sizes, paddings, batches', async () => {
  // [batch, dy rows, dy cols, dy channels], kernel = stride [kh, kw], output channels, pad, output size.
  const tcases: { x: [number, number, number, number]; k: [number, number]; co: number; pad: 'same' | 'valid' | number; out: [number, number] }[] = [
    { x: [1, 5, 7, 6], k: [2, 2], co: 3, pad: 'same', out: [10, 14] },
    { x: [3, 5, 7, 6], k: [2, 2], co: 3, pad: 'valid', out: [10, 14] },
    { x: [2, 5, 7, 4], k: [2, 2], co: 5, pad: 'same', out: [9, 13] }, // odd output: bottom/right row and column dropped
    { x: [2, 4, 3, 3], k: [2, 2], co: 2, pad: 1, out: [6, 4] }, // explicit padding: first/last rows and columns cropped
    { x: [2, 3, 4, 5], k: [3, 3], co: 4, pad: 'valid', out: [9, 12] },
    { x: [1, 3, 5, 2], k: [3, 3], co: 3, pad: 'same', out: [8, 13] },
    { x: [2, 4, 5, 3], k: [2, 1], co: 2, pad: 'same', out: [8, 5] },
    { x: [2, 4, 5, 3], k: [1, 3], co: 2, pad: 'valid', out: [4, 15] },
    { x: [2, 8, 8, 64], k: [2, 2], co: 32, pad: 'same', out: [16, 16] },
    { x: [1, 3, 3, 70], k: [2, 2], co: 40, pad: 'valid', out: [6, 6] }, // runs of sW*Ci >= 64 floats
  ];
  try {
    for (const [method, split] of [['gemm', 'row'], ['gemm', 'all'], ['conv', 'row']] as const) {
      setTransposedMethod(method);
      setTransposedSplit(split);
      for (const c of tcases) {
        const [b, , , ci] = c.x;
        const xv = randomValues(c.x.reduce((p, q) => p * q, 1), 31);
        const wv = randomValues(c.k[0] * c.k[1] * c.co * ci, 32);
        await compare(`${method}/${split} transpose x ${c.x} k ${c.k} ${JSON.stringify(c.pad)} -> ${c.out}`, () =>
          tf.conv2dTranspose(tf.tensor4d(xv, c.x), tf.tensor4d(wv, [c.k[0], c.k[1], c.co, ci]), [b, c.out[0], c.out[1], c.co], c.k, c.pad as never),
        );
      }
    }
  } finally {
    setTransposedMethod('gemm');
    setTransposedSplit('row');
  }
});

test('slice and split (concat gradient) match cpu on every axis', async () => {
  const shape = [2, 5, 7, 6];
  const v = randomValues(2 * 5 * 7 * 6, 6);
  await compare('slices', () => {
    const x = tf.tensor4d(v, shape as [number, number, number, number]);
    return [
      tf.slice(x, [0, 0, 0, 2], [2, 5, 7, 3]),
      tf.slice(x, [1, 1, 2, 0], [1, 3, 4, 6]),
      tf.slice(x, [0, 2, 0, 0], [2, 2, 7, 6]),
      tf.slice(x, [1, 0, 0, 0], [1, 5, 7, 6]),
      tf.slice(x, [0, 1, 3, 5], [2, 4, 1, 1]),
      tf.slice(tf.reshape(x, [420]), [17], [100]),
      ...tf.split(x, [2, 4], 3),
      ...tf.split(x, [3, 1, 3], 2),
      ...tf.split(x, 2, 0),
    ];
  });
  await compare('concat gradient', () => {
    const a = tf.tensor4d(v.subarray(0, 2 * 5 * 7 * 2), [2, 5, 7, 2]);
    const b = tf.tensor4d(v.subarray(0, 2 * 5 * 7 * 4), [2, 5, 7, 4]);
    const r = tf.tensor4d(randomValues(2 * 5 * 7 * 6, 7), [2, 5, 7, 6]);
    return tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.concat([p, q], 3), r)))([a, b]);
  });
});

test('sum over leading axes (bias gradient) and max-pool gradient match cpu, ties included', async () => {
  const v = randomValues(3 * 7 * 9 * 5, 8);
  await compare('sums', () => {
    const x = tf.tensor4d(v, [3, 7, 9, 5]);
    return [tf.sum(x, [0, 1, 2]), tf.sum(x, [0, 1]), tf.sum(x, 0, true), tf.sum(x, [2, 0, 1], true), tf.sum(x, [1, 2]), tf.sum(x), tf.sum(x, 3)];
  });
  for (const [shape, pool, stride, pad] of [
    [[2, 8, 6, 3], 2, 2, 'valid'],
    [[2, 7, 9, 3], 2, 2, 'valid'],
    [[1, 8, 8, 2], 2, 2, 'same'],
    [[1, 7, 9, 2], 2, 2, 'same'],
    [[1, 9, 9, 2], 3, 2, 'same'],
    [[2, 6, 7, 2], 3, 1, 'valid'],
    [[1, 8, 7, 3], 2, 1, 'same'],
  ] as [[number, number, number, number], number, number, 'valid' | 'same'][]) {
    // Values in {-2, ..., 2}: many exact ties inside windows, so the tie rule (first maximum) is exercised.
    const xv = randomValues(shape.reduce((a, b) => a * b, 1), 9).map((t) => Math.round(2 * t));
    await compare(`maxPool grad ${shape} ${pool}/${stride} ${pad}`, () => {
      const x = tf.tensor4d(xv, shape);
      const f = (xx: tf.Tensor) => tf.maxPool(xx as tf.Tensor4D, pool, stride, pad);
      const r = tf.tensor(randomValues(f(x).size, 10), f(x).shape);
      return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), r)))(x);
    });
  }
});

test('tile matches cpu for every axis pattern (batch-norm gradient shapes included)', async () => {
  const v = randomValues(2 * 3 * 4 * 5, 12);
  await compare('tiles', () => {
    const x = tf.tensor4d(v, [2, 3, 4, 5]);
    const c = tf.tensor4d(v.subarray(0, 7), [1, 1, 1, 7]);
    return [
      tf.tile(c, [3, 5, 4, 1]),
      tf.tile(x, [1, 1, 1, 1]),
      tf.tile(x, [2, 1, 3, 1]),
      tf.tile(x, [1, 2, 1, 3]),
      tf.tile(x, [3, 2, 2, 2]),
      tf.tile(tf.tensor1d(v.subarray(0, 3)), [4]),
      tf.tile(tf.tensor2d(v.subarray(0, 6), [2, 3]), [3, 2]),
    ];
  });
  await compare('int tile', () => tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), [2, 3]).toFloat());
});

test('identity shares the buffer safely: values survive disposing the input, and variables stay independent', async () => {
  await runOn('wasm', () => tf.zeros([1]));
  const a = tf.tensor([1, 2, 3]);
  const b = tf.engine().runKernel('Identity', { x: a }) as tf.Tensor;
  a.dispose();
  assert.equal(Array.from(b.dataSync()), [1, 2, 3]);
  const v = tf.variable(b);
  v.assign(tf.tensor([4, 5, 6]));
  assert.equal(Array.from(b.dataSync()), [1, 2, 3]);
  assert.equal(Array.from(v.dataSync()), [4, 5, 6]);
  b.dispose();
  v.dispose();
});

test('the registered kernels are the ones in use on wasm', async () => {
  await runOn('wasm', () => tf.zeros([1]));
  for (const name of WASM_TRAINING_KERNELS) {
    const k = tf.getKernel(name, 'wasm');
    assert.ok(k && /Wasm$/.test(k.kernelFunc.name), `${name} is nanodose's kernel (got ${k?.kernelFunc.name})`);
  }
});

test.run();
