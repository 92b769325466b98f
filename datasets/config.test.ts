import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultDatasetConfig, validateDatasetConfig, DATASET_DEFAULT_SIZE } from './config.ts';

test('a dataset without a phantom size is a small 64^3 one; a given size is kept; bad sizes name the field', () => {
  assert.is(DATASET_DEFAULT_SIZE, 64);
  assert.is(defaultDatasetConfig().simulation.phantom.size, 64);
  assert.is(validateDatasetConfig({}).simulation.phantom.size, 64);
  assert.is(validateDatasetConfig({ simulation: { phantom: { elements: ['Pt', 'Pd'] } } }).simulation.phantom.size, 64);
  assert.is(validateDatasetConfig({ simulation: { phantom: { size: 128 } } }).simulation.phantom.size, 128);
  assert.equal(validateDatasetConfig(defaultDatasetConfig()), defaultDatasetConfig());
  assert.throws(() => validateDatasetConfig({ simulation: { phantom: { size: 8 } } }), /phantom\.size/);
});

test.run();
