/**
 * Config validation. Bad input gets a message naming the field and the allowed range; callers
 * let the ConfigError reach the CLI, which prints it and exits non-zero before anything is written.
 */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * A broken invariant inside nanodose (a caller inside the package passed what it never should, a
 * built file is malformed): not the user's input. The CLI exits 1 with "internal error ... report
 * it" (scripts/errors.ts). User mistakes are ConfigErrors; a plain Error is neither and is read as
 * the user's (exit 2) until every folder says which of the two it throws.
 */
export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
  }
}

/**
 * Error names that mark a bug wherever they are thrown: InternalError and the built-in classes
 * nanodose never throws on purpose (TypeError, RangeError, ...; AssertionError from node:assert).
 */
export const INTERNAL_ERROR_NAMES: ReadonlySet<string> = new Set(['InternalError', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'AssertionError']);

/** Whether `e` is a bug (see INTERNAL_ERROR_NAMES) rather than the user's mistake: a wrapper that adds a field rethrows it unchanged. */
export function isInternalError(e: unknown): boolean {
  return e instanceof Error && (INTERNAL_ERROR_NAMES.has(e.name) || ((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_ASSERTION'));
}

/** A finite number in [min, max] (inclusive), or a ConfigError naming the field. */
export function checkNumber(field: string, value: unknown, min: number, max: number, opts: { integer?: boolean } = {}): number {
  const kind = opts.integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (opts.integer && !Number.isInteger(value))) {
    throw new ConfigError(field, `must be ${kind} in [${min}, ${max}], got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  if (value < min || value > max) throw new ConfigError(field, `must be in [${min}, ${max}], got ${value}`);
  return value;
}

/** A [lo, hi] pair with min <= lo <= hi <= max. */
export function checkRange(field: string, value: unknown, min: number, max: number): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ConfigError(field, `must be a [low, high] pair within [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  const lo = checkNumber(`${field}[0]`, value[0], min, max);
  const hi = checkNumber(`${field}[1]`, value[1], min, max);
  if (lo > hi) throw new ConfigError(field, `low ${lo} is above high ${hi}`);
  return [lo, hi];
}

/** One of the allowed strings. */
export function checkChoice<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(field, `must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Refuses keys of `obj` that are not in `known` (catches typos in config files). */
export function checkKnownKeys(field: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new ConfigError(`${field ? `${field}.` : ''}${k}`, `unknown field; known fields: ${known.join(', ')}`);
  }
}
