/**
 * Runs every shell block of README.md as written, in order, from the repository root, and says
 * which ran and which failed: the check that "every command in the README works on a fresh clone".
 * Run it on a fresh clone after `npm install`:
 *
 *   node --import tsx scripts/readme-commands.ts            # every runnable block
 *   node --import tsx scripts/readme-commands.ts --list     # the blocks and whether each is run
 *
 * Blocks that cannot run here are listed with the reason and not run: the first block (npm install,
 * npm start, npm test: the CI and the demo run them), the optional native backends (their install
 * script downloads libtensorflow), and the cluster blocks (sbatch, /scratch paths; the section's
 * one-machine block runs the same commands small). Each block runs in `bash -e` so a failing line
 * stops its block (variables a block sets, F=..., are set for the blocks after it); the exit code is 1 when any block failed. Not a test: it takes about 20 minutes
 * on 2 cores (the tour trains four models), too long for the CI.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Block {
  line: number;
  text: string;
  skip?: string;
}

const SKIPS: Array<[RegExp, string]> = [
  [/npm install && npm start/, 'the demo and the tests: the CI and `npm start` run these'],
  [/tfjs-node/, 'optional native backend: its install script downloads libtensorflow (unreachable here)'],
  [/SLURM|sbatch|\/scratch\//, 'needs a SLURM cluster and /scratch; the one-machine block below runs the same commands small'],
];

function readmeBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```sh') continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j].trim() !== '```') j++;
    const text = lines.slice(start, j).join('\n');
    const skip = SKIPS.find(([re]) => re.test(text))?.[1];
    out.push({ line: start + 1, text, skip });
    i = j;
  }
  return out;
}

function main(): void {
  const blocks = readmeBlocks(readFileSync('README.md', 'utf8'));
  const list = process.argv.includes('--list');
  let failed = 0;
  let ran = 0;
  // The README reads as one shell session: a variable set in one block (F=...) is used in later ones.
  const vars: string[] = [];
  for (const b of blocks) {
    const prelude = vars.join('\n');
    for (const l of b.text.split('\n')) if (/^[A-Za-z_][A-Za-z0-9_]*=\S+$/.test(l.trim())) vars.push(l.trim());
    const head = `README.md:${b.line}: ${b.text.split('\n').find((l) => l.trim() && !l.startsWith('#'))?.trim().slice(0, 90) ?? ''}`;
    if (b.skip) {
      console.log(`skip ${head}\n     (${b.skip})`);
      continue;
    }
    if (list) {
      console.log(`run  ${head}`);
      continue;
    }
    const t0 = Date.now();
    const r = spawnSync('bash', ['-e', '-c', `${prelude}\n${b.text}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    const s = ((Date.now() - t0) / 1000).toFixed(0);
    ran++;
    if (r.status === 0) console.log(`ok   ${head} (${s} s)`);
    else {
      failed++;
      console.log(`FAIL ${head} (exit ${r.status ?? r.signal}, ${s} s)`);
    }
  }
  if (!list) console.log(`${ran} README blocks run, ${failed} failed, ${blocks.filter((b) => b.skip).length} not runnable here (listed above)`);
  process.exit(failed ? 1 : 0);
}

main();
