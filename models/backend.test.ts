/** Backend selection: says what runs and why; forced backends that cannot run fail clearly; never cpu unless asked. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';

let nativeInstalled = false;
try {
  const pkg: string = '@tensorflow/tfjs-node'; // a variable: the package is optional, not a dependency
  await import(pkg);
  nativeInstalled = true;
} catch {
  /* the usual case here */
}

test('auto picks the best available backend and explains the others', async () => {
  const r = await initBackend({ quiet: true });
  if (nativeInstalled) assert.is(r.backend, 'tensorflow');
  else {
    assert.is(r.backend, 'wasm');
    assert.is(tf.getBackend(), 'wasm');
    assert.match(r.reason, /tfjs-node-gpu: not installed/);
    assert.match(r.reason, /tfjs-node: not installed/);
    assert.match(r.provider, /SIMD/);
  }
});

test('a forced native backend that is not installed fails with the install command, not a silent fallback', async () => {
  if (nativeInstalled) return;
  let msg = '';
  await initBackend({ backend: 'tensorflow', quiet: true }).catch((e: Error) => (msg = e.message));
  assert.match(msg, /npm install @tensorflow\/tfjs-node/);
  assert.is.not(tf.getBackend(), 'cpu');
});

test('cpu only when asked; bad choices and thread counts are refused', async () => {
  const r = await initBackend({ backend: 'cpu', quiet: true });
  assert.is(r.backend, 'cpu');
  assert.is(tf.getBackend(), 'cpu');
  let msg = '';
  await initBackend({ backend: 'gpu' as never, quiet: true }).catch((e: Error) => (msg = e.message));
  assert.match(msg, /backend: must be one of auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  await initBackend({ backend: 'wasm', threads: 0, quiet: true }).catch((e: Error) => (msg = e.message));
  assert.match(msg, /threads: must be an integer in \[1, 256\]/);
});

test('asking for 2 wasm threads says how both cores are used instead', async () => {
  const r = await initBackend({ backend: 'wasm', threads: 2, quiet: true });
  assert.is(r.backend, 'wasm');
  if (r.threads < 2) assert.match(r.reason, /models\/parallel/);
});

test('the banner line names the backend', async () => {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await initBackend({ backend: 'wasm' });
    await initBackend({ backend: 'wasm' });
  } finally {
    console.log = orig;
  }
  assert.ok(lines.some((l) => /^\[nanodose\] backend: wasm via @tensorflow\/tfjs-backend-wasm/.test(l)), lines.join('\n'));
  assert.is(lines.filter((l) => l.startsWith('[nanodose] backend:')).length, 1, 'the same backend is announced once per process');
});

test.run();
