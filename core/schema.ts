/**
 * Config schemas: one zod 4 schema per config gives its TypeScript type (z.output), its defaults
 * (merged under a partial config), its ranges, a description of every field, the one-line
 * ConfigError a user sees (`parseConfig`), the docs `--print-config` prints (`fieldDocs`) and a JSON
 * Schema file for other languages (`z.toJSONSchema`). The builders below attach to every field the
 * message the hand-written checks gave ("must be an integer in [1, 16], got 1.5"), so a field's range
 * is written once.
 *
 * Rules that tie fields together (a split summing to 1, the analytic projector's supersample) are
 * checked after parsing by the owner of the config, and stated in the fields' descriptions.
 */
import { z } from 'zod';
import { ConfigError } from './validate.ts';

/** A limit as people write it: 4 pi, 1e8, 8.4e-5 rather than 12.566370614359172, 100000000, 0.000084. */
export function writtenNumber(x: number): string {
  if (x === 4 * Math.PI) return '4 pi';
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential().replace('e+', 'e') : String(x);
}

const got = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

/** What the docs say about a field, beyond its description (kept in the schema's metadata). */
export interface FieldMeta {
  /** How the range reads, e.g. 'integer in [32, 512]'. */
  range?: string;
  /** The default as the docs state it, when the schema has none (an optional field: 'when absent: ...'). */
  defaultText?: string;
}

const META = new WeakMap<z.ZodType, FieldMeta>();
function withMeta<T extends z.ZodType>(s: T, m: FieldMeta): T {
  META.set(s, { ...META.get(s), ...m });
  return s;
}

/** A finite number (an integer with `integer`) in [min, max]. */
export function num(min: number, max: number, opts: { integer?: boolean } = {}): z.ZodNumber {
  const kind = opts.integer ? 'an integer' : 'a number';
  const message = (v: unknown): string =>
    typeof v === 'number' && Number.isFinite(v) && (!opts.integer || Number.isInteger(v)) ? `must be in [${min}, ${max}], got ${v}` : `must be ${kind} in [${min}, ${max}], got ${got(v)}`;
  let s = z.number({ error: (iss) => message(iss.input) });
  if (opts.integer) s = s.int({ error: (iss) => message(iss.input) });
  s = s.min(min, { error: (iss) => message(iss.input) }).max(max, { error: (iss) => message(iss.input) });
  return withMeta(s, { range: `${opts.integer ? 'integer' : 'number'} in [${writtenNumber(min)}, ${writtenNumber(max)}]` });
}

/** A [low, high] pair with min <= low <= high <= max (drawn uniformly per sample by the phantom sampler). */
export function pair(min: number, max: number, opts: { integer?: boolean } = {}) {
  const item = num(min, max, opts);
  const s = z
    .tuple([item, item], { error: (iss) => `must be a [low, high] pair within [${min}, ${max}], got ${got(iss.input)}` })
    .refine((v) => v[0] <= v[1], { error: (iss) => `low ${(iss.input as number[])[0]} is above high ${(iss.input as number[])[1]}` });
  return withMeta(s, { range: `a [low, high] pair of ${opts.integer ? 'integers' : 'numbers'} within [${writtenNumber(min)}, ${writtenNumber(max)}], low <= high (drawn uniformly per sample)` });
}

/** One of the allowed strings. */
export function choice<const T extends readonly [string, ...string[]]>(values: T) {
  return withMeta(z.enum(values, { error: (iss) => `must be one of ${values.join(', ')}; got ${got(iss.input)}` }), { range: values.map((v) => `'${v}'`).join(' or ') });
}

/** true or false. */
export function bool() {
  return z.boolean({ error: (iss) => `must be true or false, got ${got(iss.input)}` });
}

/**
 * Relative weights keyed by a fixed set of names (names left out weigh 0), each in [0, max], at
 * least one > 0.
 */
export function weights<const K extends readonly [string, ...string[]]>(keys: K, max = 1e6) {
  const s = z
    .partialRecord(z.enum(keys), num(0, max), { error: (iss) => `must be an object of weights >= 0 with keys among ${keys.join(', ')}, got ${got(iss.input)}` })
    .refine((w) => Object.values(w).reduce<number>((a, b) => a + (b as number), 0) > 0, { error: 'needs at least one weight > 0' });
  return withMeta(s, { range: `an object with keys among ${keys.join(', ')}; each weight in [0, ${writtenNumber(max)}], at least one > 0, names left out get 0` });
}

/** A strict object (unknown keys refused: catches typos) with `what` in its type error. */
export function object<S extends z.ZodRawShape>(shape: S, what = 'an object') {
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? undefined : `must be ${what}, got ${got(iss.input)}`) });
}

/** Adds the docs' wording to a field: its description, and how its default or range reads when the schema cannot say. */
export function doc<T extends z.ZodType>(s: T, description: string, meta: FieldMeta = {}): T {
  // describe() returns a new schema: carry the builder's metadata over.
  return withMeta(s.describe(description) as T, { ...META.get(s), ...meta });
}

function pathText(prefix: string, path: PropertyKey[]): string {
  let out = prefix;
  for (const k of path) out = typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k);
  return out;
}

/**
 * Parses `raw` (partial: fields left out get their defaults) or throws the first problem as a
 * ConfigError naming the field (`prefix` + its path) in one line.
 */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, prefix = ''): z.output<S> {
  const r = schema.safeParse(raw === null ? undefined : raw);
  if (r.success) return r.data;
  const iss = r.error.issues[0];
  if (iss.code === 'unrecognized_keys') {
    const known = knownKeys(schema, iss.path);
    throw new ConfigError(pathText(prefix, [...iss.path, iss.keys[0]]), `unknown field; known fields: ${known.join(', ')}`);
  }
  const field = pathText(prefix, iss.path) || prefix || 'config';
  throw new ConfigError(field, iss.message.replace(/\s*\n\s*/g, ' '));
}

/** The schema inside wrappers (default, optional, pipe, ...). */
function inner(s: z.ZodType): z.ZodType {
  let cur = s as z.ZodType & { def: Record<string, unknown> };
  for (;;) {
    const d = cur.def as { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType };
    if (d.innerType) cur = d.innerType as typeof cur;
    else if (d.type === 'pipe') cur = ((d.in as { def: { type: string } }).def.type === 'transform' ? d.out : d.in) as typeof cur;
    else return cur;
  }
}

function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s = inner(schema);
  for (const k of path) {
    const shape = (s as unknown as { shape?: Record<string, z.ZodType> }).shape;
    if (!shape || typeof k !== 'string' || !shape[k]) return [];
    s = inner(shape[k]);
  }
  const shape = (s as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (shape) return Object.keys(shape);
  const keyType = (s as unknown as { def: { keyType?: { options?: string[] } } }).def.keyType;
  return keyType?.options ? [...keyType.options] : [];
}

function defaultOf(s: z.ZodType): { has: boolean; value?: unknown } {
  let cur = s;
  for (;;) {
    const d = (cur as unknown as { def: { type: string; defaultValue?: unknown; innerType?: z.ZodType } }).def;
    if (d.type === 'default' || d.type === 'prefault') return { has: true, value: typeof d.defaultValue === 'function' ? (d.defaultValue as () => unknown)() : d.defaultValue };
    if (d.innerType) cur = d.innerType;
    else return { has: false };
  }
}

/** How a default value reads in the docs. */
function defaultText(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return v.length === 2 && v.every((x) => typeof x === 'number') ? `[${v[0]}, ${v[1]}]` : v.join(', ');
  if (v && typeof v === 'object') {
    const e = Object.entries(v);
    if (!e.length) return '{} = none';
    return e.every(([, x]) => x === e[0][1]) && e.length > 3 ? `${e[0][1]} for each` : e.map(([k, x]) => `${k} ${x}`).join(', ');
  }
  return String(v);
}

/** One documented field: its path, meaning, range and default as the docs write them. */
export interface FieldRow {
  path: string;
  description: string;
  range: string;
  default: string;
}

/** The fields of an object schema that the docs list (objects are opened; weights, records, tuples and arrays are leaves). */
export function fieldRows(schema: z.ZodType, defaults?: unknown, prefix = ''): FieldRow[] {
  const out: FieldRow[] = [];
  const walk = (s: z.ZodType, path: string, dflt: unknown) => {
    const i = inner(s);
    const shape = (i as unknown as { def: { type: string } }).def.type === 'object' ? (i as unknown as { shape: Record<string, z.ZodType> }).shape : null;
    const description = s.description ?? i.description ?? '';
    if (shape && !META.get(i)?.range) {
      if (description && path) out.push({ path, description, range: '', default: '' });
      for (const [k, f] of Object.entries(shape)) walk(f, path ? `${path}.${k}` : k, (dflt as Record<string, unknown> | undefined)?.[k]);
      return;
    }
    const meta = { ...META.get(i), ...META.get(s) };
    const d = defaultOf(s);
    out.push({ path, description, range: meta.range ?? '', default: meta.defaultText ?? (dflt !== undefined ? defaultText(dflt) : d.has ? defaultText(d.value) : 'when absent: off') });
  };
  walk(schema, prefix, defaults);
  return out;
}

/** One line per field: meaning; range (default ...), as `--print-config` prints them. */
export function fieldDocs(schema: z.ZodType, prefix = '', defaults?: unknown): Record<string, string> {
  return Object.fromEntries(fieldRows(schema, defaults, prefix).map((r) => [r.path, r.default ? `${r.description}${r.range ? `; ${r.range}` : ''} (default ${r.default})` : r.description]));
}
