/**
 * The nanodose CLI. Every file in scripts/commands/ exports a yargs `command` module; command
 * modules stay light at import time (heavy libraries are imported inside their handlers), so
 * `nanodose --help` starts fast.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';
import { glueNegativeValues, helpWidth, hideLibraryBanners } from './cli-args.ts';
import { classifyError } from './errors.ts';

// yargs through its CommonJS entry: the ESM build's cliui wraps help text every N characters,
// mid-word ("t/rained", "resu/me"); the CommonJS build wraps at word boundaries (wrap-ansi).
const yargs = createRequire(import.meta.url)('yargs') as typeof import('yargs').default;

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
const files = readdirSync(commandsDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .sort();

const argv = glueNegativeValues(hideBin(process.argv));
const debug = argv.includes('--debug') || !!process.env.NANODOSE_DEBUG;
// Library code (HDF5 diagnostics, TensorFlow.js banners) reads this to stay quiet unless --debug.
if (debug) process.env.NANODOSE_DEBUG = '1';
else hideLibraryBanners();

let cli = yargs(argv)
  .scriptName('nanodose')
  .usage('$0 <command> [options]\n\nData, denoisers and benchmarks for low-dose 3D elemental mapping.')
  .strict()
  .demandCommand(1, 'Name a command; `nanodose --help` lists them.')
  .help()
  .option('debug', { type: 'boolean', global: true, describe: 'show library diagnostics and error stacks' })
  .wrap(helpWidth())
  // One thread count for every parallel stage (core/threads.ts); a stage's own
  // --workers still wins. Printed once when the first parallel stage starts, on stderr so
  // machine-readable stdout stays clean and an input error stays one line.
  .option('threads', { type: 'number', global: true, describe: 'threads for every parallel stage (default: $NANODOSE_THREADS, else os.availableParallelism())' })
  .middleware(async (argv) => {
    const { describeThreads, parseThreads, setThreads, announceThreads } = await import('../core/threads.ts');
    if (argv.threads !== undefined) {
      setThreads(parseThreads('--threads', argv.threads));
      process.env.NANODOSE_THREADS = String(argv.threads); // child processes follow it too
    }
    describeThreads(); // validates NANODOSE_THREADS too, before any work
    if (!argv.quiet) announceThreads((line) => console.error(`[nanodose] ${line}`));
    // every command that writes names its output --out: tried before any work (core/atomic.ts)
    if (typeof argv.out === 'string' && argv.out) (await import('../core/atomic.ts')).checkWritable(argv.out, 'out');
  })
  .fail((msg, err) => {
    // Usage and validation errors, and errors thrown by handlers: one clear line and exit 2 for the
    // user's mistakes, a short "report it" message and exit 1 for internal failures (scripts/errors.ts).
    if (err) {
      const r = classifyError(err);
      console.error(`nanodose: ${r.message}`);
      if (debug) console.error(err.stack);
      process.exit(r.exitCode);
    }
    console.error(`nanodose: ${msg.split('\n').join(' ')} (see --help)`);
    process.exit(2);
  });

for (const f of files) {
  const mod = (await import(pathToFileURL(join(commandsDir, f)).href)) as { command: CommandModule };
  cli = cli.command(mod.command as CommandModule);
}

await cli.parseAsync();
