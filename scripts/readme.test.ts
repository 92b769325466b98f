/**
 * The newcomer's map. Every folder README (the top-level folders and the sub-folders that have one)
 * opens with what the folder owns and its public API, with a TypeScript example that compiles: each
 * README's first ```ts block is typechecked here against the package (self-reference by name, the
 * project's tsconfig), so an example that drifts from the API fails. The README's Layout section
 * names every top-level and second-level folder of the tree.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const TOP = ['core', 'generators', 'datasets', 'models', 'training', 'eval', 'scripts'];

/** Folders of the tree at depth 1 and 2 (git's tracked files when in a checkout, else the file system). */
function folders(): Set<string> {
  let files: string[];
  try {
    files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    files = [];
    const walk = (d: string, depth: number) => {
      for (const n of readdirSync(join(root, d))) {
        if (n === 'node_modules' || n === '.git') continue;
        const p = d ? `${d}/${n}` : n;
        if (statSync(join(root, p)).isDirectory()) { if (depth < 2) walk(p, depth + 1); } else files.push(p);
      }
    };
    walk('', 0);
  }
  const out = new Set<string>();
  for (const f of files) {
    if (!existsSync(join(root, f))) continue; // deleted in the work tree
    const parts = f.split('/');
    if (parts.length > 1) out.add(parts[0]);
    if (parts.length > 2) out.add(`${parts[0]}/${parts[1]}`);
  }
  return out;
}

/** The folder READMEs: every top-level folder's, and those of second-level folders that have one. */
function readmes(): string[] {
  const out: string[] = [];
  for (const t of TOP) {
    out.push(`${t}/README.md`);
    for (const s of readdirSync(join(root, t))) if (existsSync(join(root, t, s, 'README.md'))) out.push(`${t}/${s}/README.md`);
  }
  return out;
}

test('every folder README opens with what the folder owns and its public API, with a TypeScript example', () => {
  for (const r of readmes()) {
    assert.ok(existsSync(join(root, r)), `${r} is missing`);
    const head = readFileSync(join(root, r), 'utf8').split('\n').slice(0, 40);
    assert.match(head[0], /^# /, `${r}: a title first`);
    const owns = head.findIndex((l) => l.startsWith('Owns:'));
    const api = head.findIndex((l) => /^Public API\b/.test(l));
    const example = head.findIndex((l) => l === '```ts');
    assert.ok(owns > 0, `${r}: an 'Owns:' paragraph in its first 40 lines`);
    assert.ok(api > owns, `${r}: a 'Public API' paragraph after 'Owns:'`);
    assert.ok(example > api, `${r}: a \`\`\`ts example after 'Public API'`);
  }
});

test("each README's first TypeScript example typechecks against the package", () => {
  const dir = mkdtempSync(join(root, '.tmp-readme-'));
  try {
    const files: string[] = [];
    const from = new Map<string, string>();
    for (const r of readmes()) {
      const text = readFileSync(join(root, r), 'utf8');
      const m = /^```ts\n([\s\S]*?)^```$/m.exec(text);
      if (!m) continue; // the opening test says which README lacks one
      const f = join(dir, `${r.replace(/\/README\.md$/, '').replace(/\//g, '-')}.ts`);
      writeFileSync(f, `${m[1]}export {};\n`);
      files.push(f);
      from.set(f, r);
    }
    const cfg = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } })!;
    const program = ts.createProgram(files, cfg.options);
    const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error).map((d) => {
      const where = d.file ? `${from.get(d.file.fileName) ?? relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where.replace(/:(\d+)$/, " (example line $1)")} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    assert.equal(errors, [], errors.join('\n'));
    assert.ok(files.length >= TOP.length, `${files.length} examples checked`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's Layout section names every top-level and second-level folder", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /^## Layout\n([\s\S]*?)(?=^## )/m.exec(readme);
  assert.ok(m, 'README.md has a ## Layout section');
  const section = m![1];
  const missing = [...folders()].filter((f) => !section.includes(`\`${f}/\``)).sort();
  assert.equal(missing, [], `not named in README.md's Layout section: ${missing.join(', ')}`);
});

test.run();
