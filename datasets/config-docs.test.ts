/**
 * Every field of the dataset config is documented with its default and its range: CONFIG_DOCS covers
 * every leaf of defaultDatasetConfig(), quotes the defaults, and its numeric limits are the ones the
 * validators enforce (probed at both ends); `nanodose generate --print-config` prints them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/validate.ts';
import { CONFIG_DOCS, SIMULATION_LIMITS, WEIGHT_LIMIT, YIELD_LIMIT, defaultDatasetConfig, validateDatasetConfig } from './config.ts';

/** Fields that are absent from the defaults (absent = off / derived) but documented and accepted. */
const OPTIONAL_FIELDS: Record<string, unknown> = {
  'simulation.geometry.nCols': 96,
  'simulation.geometry.projector': 'analytic',
  'simulation.geometry.supersample': 2,
  'simulation.acquisition.readNoise': 1.5,
  'simulation.acquisition.jitter': 1,
  'simulation.acquisition.haadfEfficiency': 1e-3,
};

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Leaf paths of a config. An object of weights (values all numbers, keys open-ended: classWeights,
 * composition, yields, also {}) is one leaf when it is documented as a whole; any other object (split,
 * store, ...) is opened into its fields.
 */
function leaves(x: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(x)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const weights = isObj(v) && Object.values(v).every((w) => typeof w === 'number') && path in CONFIG_DOCS;
    if (isObj(v) && !weights) for (const [p, w] of leaves(v, path)) out.set(p, w);
    else out.set(path, v);
  }
  return out;
}

/** A partial dataset config with `path` set to `value` (and `extra` paths set too). */
function withField(path: string, value: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [p, v] of Object.entries({ ...extra, [path]: value })) {
    const keys = p.split('.');
    let o = root;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys[keys.length - 1]] = v;
  }
  return root;
}

/** Fields that need another field set to be accepted at all (the HAADF range check depends on the particle's size). */
const CONTEXT: Record<string, Record<string, unknown>> = {
  'simulation.geometry.supersample': { 'simulation.geometry.projector': 'analytic' },
  'simulation.acquisition.haadfEfficiency': { 'simulation.acquisition.haadfModel': 'linear-legacy' },
  'simulation.acquisition.haadfMuAu': { 'simulation.acquisition.pixelSizeAngstrom': 0.01 },
  'simulation.acquisition.pixelSizeAngstrom': { 'simulation.acquisition.haadfMuAu': 1e-9 },
};
const context = (path: string): Record<string, unknown> => CONTEXT[path] ?? {};
const accepts = (path: string, value: unknown): void => {
  try {
    validateDatasetConfig(withField(path, value, context(path)));
  } catch (e) {
    assert.unreachable(`${path} = ${JSON.stringify(value)} should be accepted: ${(e as Error).message}`);
  }
};
/** Rejected with a ConfigError that names the field (the simulator names it without 'simulation.'). */
const rejects = (path: string, value: unknown): void => {
  const field = path.replace(/^simulation\./, '');
  try {
    validateDatasetConfig(withField(path, value, context(path)));
  } catch (e) {
    assert.instance(e, ConfigError, `${path} = ${JSON.stringify(value)}: ${(e as Error).message}`);
    assert.ok((e as ConfigError).field.startsWith(field), `${path} = ${JSON.stringify(value)} blamed ${(e as ConfigError).field}`);
    return;
  }
  assert.unreachable(`${path} = ${JSON.stringify(value)} should be rejected`);
};
/** How the docs write a limit: 4 pi, 1e8, 0.001. */
const written = (x: number): string => (x === 4 * Math.PI ? '4 pi' : x >= 1e5 ? `1e${Math.log10(x)}` : String(x));
const below = (x: number, integer?: boolean): number => (integer ? x - 1 : x - Math.max(Math.abs(x) * 1e-6, 1e-9));
const above = (x: number, integer?: boolean): number => (integer ? x + 1 : x + Math.max(Math.abs(x) * 1e-6, 1e-9));

test('every leaf of the default dataset config has a CONFIG_DOCS entry that states its default', () => {
  const defaults = leaves(defaultDatasetConfig() as unknown as Record<string, unknown>);
  assert.ok(defaults.size > 40, `only ${defaults.size} leaves`);
  for (const w of ['simulation.phantom.classWeights', 'simulation.phantom.coreClassWeights', 'simulation.phantom.composition', 'simulation.acquisition.yields', 'split.train']) assert.ok(defaults.has(w), w);
  for (const [path, value] of defaults) {
    const doc = CONFIG_DOCS[path];
    assert.type(doc, 'string', `no CONFIG_DOCS entry for ${path}`);
    assert.match(doc, /default/, `${path}: the doc gives no default`);
    if (!path.startsWith('simulation.')) continue;
    let shown: string | undefined;
    if (typeof value === 'number') shown = `default ${value}`;
    else if (typeof value === 'string') shown = `default '${value}'`;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'number')) shown = `default [${value.join(', ')}]`;
    else if (Array.isArray(value)) shown = `default ${value.join(', ')}`;
    if (shown) assert.ok(doc.includes(shown), `${path}: doc should say '${shown}': ${doc}`);
  }
  // The dataset's phantom size, not the phantom generator's 128.
  assert.match(CONFIG_DOCS['simulation.phantom.size'], /default 64 for a dataset.*own default is 128/);
  assert.match(CONFIG_DOCS['simulation.acquisition.dose'], /e\/A\^2 per projection/);
  for (const cls of Object.keys(defaultDatasetConfig().simulation.phantom.classWeights)) assert.ok(CONFIG_DOCS['simulation.phantom.classWeights'].includes(cls), cls);
});

test('CONFIG_DOCS lists no stale field: each entry is a default leaf or an optional field the validator accepts', () => {
  const defaults = leaves(defaultDatasetConfig() as unknown as Record<string, unknown>);
  for (const path of Object.keys(CONFIG_DOCS)) {
    if (path === 'simulation' || defaults.has(path)) continue;
    assert.ok(path in OPTIONAL_FIELDS, `CONFIG_DOCS has ${path}, which is neither in the defaults nor a known optional field`);
  }
  for (const [path, value] of Object.entries(OPTIONAL_FIELDS)) {
    assert.type(CONFIG_DOCS[path], 'string', `no CONFIG_DOCS entry for ${path}`);
    accepts(path, value);
    rejects(path.replace(/[^.]+$/, 'noSuchField'), 1);
  }
});

test('the documented numeric limits are the validators\' limits, at both ends', () => {
  for (const [path, l] of Object.entries(SIMULATION_LIMITS)) {
    assert.type(CONFIG_DOCS[path], 'string', `${path} has a limit but no doc`);
    const span = `[${written(l.min)}, ${written(l.max)}]`;
    assert.ok(CONFIG_DOCS[path].includes(span), `${path}: doc should give the range ${span}: ${CONFIG_DOCS[path]}`);
    if (l.pair) {
      accepts(path, [l.min, l.min]);
      accepts(path, [l.max, l.max]);
      accepts(path, [l.min, l.max]);
      rejects(path, [below(l.min, l.integer), l.max]);
      rejects(path, [l.min, above(l.max, l.integer)]);
      if (l.max > l.min) rejects(path, [l.max, l.min]);
      if (l.integer) rejects(path, [l.min + 0.5, l.max]);
    } else {
      accepts(path, l.min);
      accepts(path, l.max);
      rejects(path, below(l.min, l.integer));
      rejects(path, above(l.max, l.integer));
      if (l.integer) rejects(path, l.min + 0.5);
    }
  }
  for (const k of ['classWeights', 'coreClassWeights']) {
    const path = `simulation.phantom.${k}`;
    accepts(path, { sphere: WEIGHT_LIMIT.max, cube: WEIGHT_LIMIT.min });
    rejects(path, { sphere: above(WEIGHT_LIMIT.max) });
    rejects(path, { sphere: below(WEIGHT_LIMIT.min) });
    rejects(path, { sphere: 0 });
    rejects(path, { pyramid: 1 });
  }
  accepts('simulation.phantom.composition', { solid: WEIGHT_LIMIT.max, alloy: WEIGHT_LIMIT.min, 'core-shell': 0 });
  rejects('simulation.phantom.composition', { solid: above(WEIGHT_LIMIT.max) });
  accepts('simulation.acquisition.yields', { Au: YIELD_LIMIT.max, Ag: YIELD_LIMIT.min });
  rejects('simulation.acquisition.yields', { Au: above(YIELD_LIMIT.max) });
  rejects('simulation.acquisition.yields', { Au: below(YIELD_LIMIT.min) });
  // nCols: at least the phantom size, at most 8192.
  const N = defaultDatasetConfig().simulation.phantom.size;
  accepts('simulation.geometry.nCols', N);
  accepts('simulation.geometry.nCols', 8192);
  rejects('simulation.geometry.nCols', N - 1);
  rejects('simulation.geometry.nCols', 8193);
  assert.match(CONFIG_DOCS['simulation.geometry.nCols'], /\[simulation\.phantom\.size, 8192\]/);
});

test('every simulation field appears in the config table of datasets/README.md', () => {
  const readme = readFileSync(fileURLToPath(new URL('./README.md', import.meta.url)), 'utf8');
  const defaults = leaves(defaultDatasetConfig() as unknown as Record<string, unknown>);
  for (const path of Object.keys(CONFIG_DOCS)) {
    if (!path.startsWith('simulation.')) continue;
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
    assert.ok(row, `datasets/README.md has no row for ${path}`);
    const value = defaults.get(path);
    const cell = row!.split('|')[2].trim();
    // A computed default (haadfMuAu) is written to 3 significant figures.
    if (typeof value === 'number') assert.ok(cell === String(value) || Number(cell) === Number(value.toPrecision(3)), `README default of ${path}: ${cell} vs ${value}`);
    if (Array.isArray(value) && value.every((v) => typeof v === 'number')) assert.is(cell, `[${value.join(', ')}]`, `README default of ${path}`);
  }
});

test('`nanodose generate --print-config` prints the default config on stdout and every field on stderr', () => {
  const cli = fileURLToPath(new URL('../scripts/nanodose.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'generate', '--print-config'], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), defaultDatasetConfig());
  const lines = r.stderr.split('\n');
  assert.ok(lines.some((l) => /^\s*simulation\.acquisition\.dose: .*e\/A\^2/.test(l) && l.includes(`default ${defaultDatasetConfig().simulation.acquisition.dose} e/A^2 per projection`)), r.stderr);
  for (const path of Object.keys(CONFIG_DOCS)) assert.ok(lines.some((l) => l.trimStart().startsWith(`${path}: `)), `--print-config does not print ${path}`);
});

test.run();
