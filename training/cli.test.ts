/** `nanodose train` through the CLI: --help lists the options; a bad option exits non-zero and writes nothing. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../scripts/testing/cli.ts';

const run = (...args: string[]) => runCli(args, { entry: true });
const root = mkdtempSync(join(tmpdir(), 'nanodose-traincli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('train --help lists the schemes and options', () => {
  const r = run('train', '--help');
  assert.is(r.status, 0, r.stderr);
  for (const s of ['--scheme', 'n2n-thinning', 'blind-spot', '--resume', '--dose', '--model-config', '--workers', '--channels']) assert.ok(r.stdout.includes(s), s);
});

test('a bad option exits non-zero with the field named, and writes nothing', () => {
  const out = join(root, 'm');
  const r = run('train', '--data', join(root, 'nothing'), '--scheme', 'supervised', '--out', out, '--epochs', '0');
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /epochs: must be in \[1, /);
  assert.not.ok(existsSync(out));
  const r2 = run('train', '--data', join(root, 'nothing'), '--scheme', 'supervised', '--out', out, '--dose', '100');
  assert.is.not(r2.status, 0);
  assert.match(r2.stderr, /dose: give 'low:high'/);
  assert.not.ok(existsSync(out));
});

test.run();
