// The package entry (package.json `exports`): `import ... from 'nanodose'` resolves by self-reference to
// index.ts and gives the same objects as the deep imports; the area entries are reachable by name too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nanodose from 'nanodose';
import { generateDataset, runEvaluation, runPipeline, reconstruct, train, samplePhantom, defaultPhantomConfig, rebuildPhantom, type Phantom } from 'nanodose';
import * as training from 'nanodose/training';
import * as datasets from 'nanodose/datasets';
import * as core from 'nanodose/core';
import { ConfigError as deepConfigError } from '../core/validate.ts';
import { stream as deepStream } from '../core/random.ts';
import { runEvaluation as deepRunEvaluation } from '../eval/harness/run.ts';
import { runPipeline as deepRunPipeline } from '../scripts/pipeline/run.ts';
import { generateDataset as deepGenerate } from '../datasets/generate.ts';
import { reconstruct as deepReconstruct } from '../eval/recon/reconstruct.ts';
import { train as deepTrain } from '../training/loop.ts';

test('the package name resolves to the public API, the same functions as the deep imports', () => {
  assert.is(runEvaluation, deepRunEvaluation);
  assert.is(runPipeline, deepRunPipeline);
  assert.is(generateDataset, deepGenerate);
  assert.is(datasets.generateDataset, deepGenerate);
  assert.is(reconstruct, deepReconstruct);
  assert.is(train, deepTrain);
  assert.is(training.train, deepTrain);
  assert.is(core.ConfigError, deepConfigError);
  assert.is(core.stream, deepStream);
  for (const [name, v] of Object.entries(core)) assert.ok(v !== undefined, `core.${name} is undefined`);
  for (const [name, v] of Object.entries(nanodose)) assert.ok(v !== undefined, `${name} is undefined`);
});

test('the public API runs: a phantom drawn through the package entry rebuilds bit for bit from its record', () => {
  const cfg = { ...defaultPhantomConfig(), size: 32 };
  const p: Phantom = samplePhantom(cfg, 5, 0);
  const q = rebuildPhantom(p.params);
  const a = nanodose.voxelise(p), b = nanodose.voxelise(q);
  assert.is(a.length, cfg.elements.length);
  let mass = 0;
  for (let e = 0; e < a.length; e++) {
    assert.ok(Buffer.from(a[e].buffer).equals(Buffer.from(b[e].buffer)), `element ${e}`);
    for (const v of a[e]) mass += v;
  }
  assert.ok(mass > 0, 'an empty phantom');
});

test('training/index does not export makeBatch (its config type is private)', () => {
  assert.not.ok('makeBatch' in training);
});

test.run();
