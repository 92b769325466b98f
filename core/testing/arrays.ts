/**
 * Test inputs for the thread-count tests: a fixed pseudo-random array that needs no seeded stream
 * (a 32-bit LCG, Numerical Recipes' constants; values in [0, 2)), and a typed array's bytes for
 * byte-for-byte comparison.
 */
export function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31; }
  return a;
}

/** The bytes of a Float32Array (a view, not a copy). */
export const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
