/**
 * The dataset config has one schema (datasets/config.ts, zod): the field docs, the README table and
 * the committed JSON Schema all come from it. Checked here: every leaf of the defaults and every
 * optional field is documented with its default and range; each documented numeric range is what
 * validation enforces, at both ends (probed through the JSON Schema's own minimum/maximum), with a
 * one-line ConfigError naming the field; datasets/config.schema.json and the datasets/README.md table
 * are current; Python's jsonschema (where installed) accepts the shipped example configs and refuses
 * bad ones; `nanodose generate --print-config` prints every field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/validate.ts';
import { CONFIG_DOCS, datasetConfigJsonSchema, defaultDatasetConfig, validateDatasetConfig } from './config.ts';
import { README_FILE, SCHEMA_FILE, readmeWithTable, schemaText } from '../scripts/config-docs.ts';
import { runCli } from '../scripts/testing/cli.ts';

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; minimum?: number; maximum?: number; prefixItems?: JsonSchema[]; default?: unknown };

/** The leaf fields of the JSON Schema, with their schemas. */
function schemaLeaves(s: JsonSchema, prefix = ''): Map<string, JsonSchema> {
  const out = new Map<string, JsonSchema>();
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v.type === 'object' && v.properties) for (const [p, w] of schemaLeaves(v, path)) out.set(p, w);
    else out.set(path, v);
  }
  return out;
}
const LEAVES = schemaLeaves(datasetConfigJsonSchema() as JsonSchema);

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
  'simulation.phantom.elements': { 'simulation.phantom.composition': { solid: 1 } },
};
const accepts = (path: string, value: unknown): void => {
  try {
    validateDatasetConfig(withField(path, value, CONTEXT[path]));
  } catch (e) {
    assert.unreachable(`${path} = ${JSON.stringify(value)} should be accepted: ${(e as Error).message}`);
  }
};
const rejects = (path: string, value: unknown): void => {
  try {
    validateDatasetConfig(withField(path, value, CONTEXT[path]));
  } catch (e) {
    assert.instance(e, ConfigError, `${path} = ${JSON.stringify(value)}: ${(e as Error).message}`);
    assert.ok((e as ConfigError).field.startsWith(path), `${path} = ${JSON.stringify(value)} blamed ${(e as ConfigError).field}`);
    assert.not.match((e as Error).message, /\n/, 'one line');
    assert.match((e as Error).message, /got|unknown|above|needs|twice|need /, `says what was found: ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${path} = ${JSON.stringify(value)} should be rejected`);
};
const below = (x: number, integer: boolean): number => (integer ? x - 1 : x - Math.max(Math.abs(x) * 1e-6, 1e-9));
const above = (x: number, integer: boolean): number => (integer ? x + 1 : x + Math.max(Math.abs(x) * 1e-6, 1e-9));

test('every field (defaults and optional ones) has a doc with its default; the docs name the ranges', () => {
  assert.ok(LEAVES.size > 50, `only ${LEAVES.size} leaves`);
  for (const path of LEAVES.keys()) {
    assert.type(CONFIG_DOCS[path], 'string', `no CONFIG_DOCS entry for ${path}`);
    assert.match(CONFIG_DOCS[path], /\(default [^)]/, `${path}: the doc gives no default`);
  }
  for (const path of Object.keys(CONFIG_DOCS)) assert.ok(path === 'simulation' || LEAVES.has(path), `CONFIG_DOCS has ${path}, which is not a field`);
  assert.match(CONFIG_DOCS['simulation.phantom.size'], /integer in \[32, 512\] \(default 64 for a dataset.*own default is 128/);
  assert.match(CONFIG_DOCS['simulation.acquisition.dose'], /number in \[0, 1e8\] \(default 600 e\/A\^2 per projection/);
  assert.match(CONFIG_DOCS['simulation.acquisition.solidAngleSr'], /\[0, 4 pi\]/);
  assert.match(CONFIG_DOCS['simulation.phantom.orientation'], /'random' or 'tilt-axis' or 'fixed' \(default when absent: 'random'\)/);
  for (const cls of Object.keys(defaultDatasetConfig().simulation.phantom.classWeights)) assert.ok(CONFIG_DOCS['simulation.phantom.classWeights'].includes(cls), cls);
  // Defaults in the docs are the parsed defaults.
  const d = defaultDatasetConfig();
  assert.ok(CONFIG_DOCS['simulation.phantom.sizeFraction'].includes(`(default [${d.simulation.phantom.sizeFraction.join(', ')}])`));
  assert.ok(CONFIG_DOCS['samplesPerShard'].includes(`(default ${d.samplesPerShard})`));
});

test("every numeric range of the schema is validation's, at both ends, refused in one line naming the field", () => {
  let probed = 0;
  for (const [path, s] of LEAVES) {
    const item = s.prefixItems?.[0] ?? s;
    // split.*: the fractions must also sum to 1 (probed below).
    if (item.minimum === undefined || item.maximum === undefined || path.startsWith('split.')) continue;
    const integer = item.type === 'integer', lo = item.minimum, hi = item.maximum;
    probed++;
    if (s.prefixItems) {
      accepts(path, [lo, lo]);
      accepts(path, [lo, hi]);
      rejects(path, [below(lo, integer), hi]);
      rejects(path, [lo, above(hi, integer)]);
      if (hi > lo) rejects(path, [hi, lo]);
      if (integer) rejects(path, [lo + 0.5, hi]);
      rejects(path, [lo]);
    } else if (path === 'simulation.phantom.size') {
      accepts(path, lo); // a 512^3 phantom's HAADF would scatter too much with the default pixel: the range check, not the schema
      rejects(path, below(lo, integer));
      rejects(path, above(hi, integer));
    } else {
      accepts(path, lo);
      accepts(path, hi);
      rejects(path, below(lo, integer));
      rejects(path, above(hi, integer));
      if (integer) rejects(path, lo + 0.5);
      rejects(path, 'x');
    }
  }
  assert.ok(probed >= 34, `${probed} ranges probed`);
  for (const k of ['classWeights', 'coreClassWeights']) {
    const path = `simulation.phantom.${k}`;
    accepts(path, { sphere: 1e6, cube: 0 });
    rejects(path, { sphere: 1e6 + 1 });
    rejects(path, { sphere: -1 });
    rejects(path, { sphere: 0 });
    rejects(path, { pyramid: 1 });
  }
  assert.throws(() => validateDatasetConfig({ split: { train: 0.5, val: 0.1, test: 0.1 } }), (e: Error) => e instanceof ConfigError && e.field === 'split');
  rejects('split.train', 1.5);
  accepts('simulation.acquisition.yields', { Au: 1, Ag: 0 });
  rejects('simulation.acquisition.yields', { Au: 1.5 });
  rejects('simulation.phantom.elements', ['Au', 'Au']);
  rejects('simulation.phantom.elements', ['Xx']);
  rejects('simulation.phantom.orientation', 'sideways');
  rejects('simulation.geometry.noSuchField', 1);
  // nCols: at least the phantom size, at most 8192 (makeGeometry).
  const N = defaultDatasetConfig().simulation.phantom.size;
  accepts('simulation.geometry.nCols', N);
  accepts('simulation.geometry.nCols', 8192);
  rejects('simulation.geometry.nCols', N - 1);
  rejects('simulation.geometry.nCols', 8193);
});

test('datasets/config.schema.json and the datasets/README.md config table are what the schema generates', () => {
  assert.is(readFileSync(SCHEMA_FILE, 'utf8'), schemaText(), 'datasets/config.schema.json is stale: run node --import tsx scripts/config-docs.ts');
  const readme = readFileSync(README_FILE, 'utf8');
  assert.is(readme, readmeWithTable(readme), 'the datasets/README.md config table is stale: run node --import tsx scripts/config-docs.ts');
  for (const path of LEAVES.keys()) assert.ok(readme.includes(`| \`${path}\` |`), `README row for ${path}`);
});

const EXAMPLES = fileURLToPath(new URL('./examples/', import.meta.url));
const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).map((f) => EXAMPLES + f);

test('the shipped example configs validate (TypeScript); Python jsonschema accepts them and refuses bad ones', () => {
  assert.ok(examples.length >= 3);
  for (const f of examples) validateDatasetConfig(JSON.parse(readFileSync(f, 'utf8')));
  const py = spawnSync('python3', ['-c', 'import jsonschema'], { encoding: 'utf8' });
  if (py.status !== 0) {
    console.log('  (python3 jsonschema not installed: the Python check is skipped; Debian: apt install python3-jsonschema)');
    return;
  }
  const bad = [{ simulation: { phantom: { size: 1000 } } }, { simulation: { phantom: { sizeFraction: [0.5] } } }, { store: { frames: 'yes' } }, { bogus: 1 }, { simulation: { phantom: { orientation: 'up' } } }];
  const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errs = list(v.iter_errors(json.load(open(f))))
    print('ok' if not errs else 'errors', f, '; '.join(e.message for e in errs))
for b in json.loads(sys.stdin.read()):
    print('refused' if list(v.iter_errors(b)) else 'accepted', json.dumps(b))
`;
  const r = spawnSync('python3', ['-c', script, SCHEMA_FILE, ...examples], { input: JSON.stringify(bad), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const f of examples) assert.ok(lines.includes(`ok ${f} `), `jsonschema on ${f}: ${r.stdout}`);
  assert.is(lines.filter((l) => l.startsWith('refused')).length, bad.length, r.stdout);
  // The same bad configs are refused by validation too.
  for (const b of bad) assert.throws(() => validateDatasetConfig(b), (e: Error) => e instanceof ConfigError);
});

test('`nanodose generate --print-config` prints the default config on stdout and every field on stderr', () => {
  const r = runCli(['generate', '--print-config'], { entry: true });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), defaultDatasetConfig());
  const lines = r.stderr.split('\n');
  for (const path of Object.keys(CONFIG_DOCS)) assert.ok(lines.some((l) => l.trimStart().startsWith(`${path}: `)), `--print-config does not print ${path}`);
  assert.ok(isObj(JSON.parse(r.stdout).simulation));
});

test.run();
