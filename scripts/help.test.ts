/**
 * `--help` of the CLI and of every subcommand, piped (as through `cat`) with COLUMNS=80 and 100:
 * no line is wider than the width, and no word is broken (the word sequence is the same at both
 * widths: a mid-word break would split a word into two at one width and not at the other).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync } from './testing/cli.ts';

const root = join(import.meta.dirname, '..');
const commands = readdirSync(join(root, 'scripts', 'commands')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3)).sort();

async function help(cmd: string | undefined, columns: number): Promise<string> {
  const r = await runCliAsync([...(cmd ? [cmd] : []), '--help'], { entry: true, cwd: root, env: { COLUMNS: String(columns) } });
  if (r.status !== 0) throw new Error(`nanodose ${cmd ?? ''} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const helps = new Map<string, Record<number, string>>();
test.before(async () => {
  const all = [undefined, ...commands];
  // Two at a time: the machine is shared.
  for (let i = 0; i < all.length; i += 2) {
    await Promise.all(all.slice(i, i + 2).map(async (c) => helps.set(c ?? '(top)', { 80: await help(c, 80), 100: await help(c, 100) })));
  }
});

test('every command has help', () => {
  assert.ok(commands.length >= 8, commands.join(','));
  for (const c of commands) assert.match(helps.get(c)![80], `nanodose ${c}`, c);
});

test('help fits in 80 and 100 columns and breaks no word', () => {
  for (const [c, h] of helps) {
    for (const w of [80, 100]) {
      for (const line of h[w].split('\n')) assert.ok(line.length <= w, `${c} at ${w}: ${line.length} > ${w}: ${line}`);
    }
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    const a = words(h[80]), b = words(h[100]);
    const i = a.findIndex((x, k) => x !== b[k]);
    assert.is(i, -1, `${c}: word ${i} is '${a[i]}' at 80 columns and '${b[i]}' at 100`);
    assert.is(a.length, b.length, c);
  }
});

test('options show their defaults', () => {
  const line = (c: string, opt: string) => helps.get(c)![100].split('\n').find((l) => l.trimStart().startsWith(opt)) ?? '';
  const block = (c: string, opt: string) => {
    const ls = helps.get(c)![100].split('\n');
    const i = ls.findIndex((l) => l.trimStart().startsWith(opt));
    let j = i + 1;
    while (j < ls.length && !ls[j].trimStart().startsWith('-') && ls[j].trim()) j++;
    return ls.slice(i, j).join(' ');
  };
  assert.match(block('train', '--depth'), /default/, 'train --depth');
  assert.match(block('train', '--filters'), /default/, 'train --filters');
  assert.match(block('run', '--preset'), 'tiny', 'run --preset lists tiny');
  assert.match(block('export', '--what'), 'frames', 'export --what frames');
  assert.ok(line('export', '--channel'), 'export --channel');
});

test.run();
