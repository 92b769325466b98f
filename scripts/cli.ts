/**
 * The nanodose CLI. Every file in scripts/commands/ exports a yargs `command` module; command
 * modules stay light at import time (heavy libraries are imported inside their handlers), so
 * `nanodose --help` starts fast.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
const files = readdirSync(commandsDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .sort();

let cli = yargs(hideBin(process.argv))
  .scriptName('nanodose')
  .usage('$0 <command> [options]\n\nData, denoisers and benchmarks for low-dose 3D elemental mapping.')
  .strict()
  .demandCommand(1, 'Name a command; `nanodose --help` lists them.')
  .help()
  .wrap(Math.min(110, process.stdout.columns ?? 100))
  // One thread count for every parallel stage (generators/common/threads.ts); a stage's own
  // --workers still wins. Printed once when the first parallel stage starts, on stderr so
  // machine-readable stdout stays clean and an input error stays one line.
  .option('threads', { type: 'number', global: true, describe: 'threads for every parallel stage (default NANODOSE_THREADS, else os.availableParallelism())' })
  .middleware(async (argv) => {
    const { describeThreads, parseThreads, setThreads, announceThreads } = await import('../generators/common/threads.ts');
    if (argv.threads !== undefined) {
      setThreads(parseThreads('--threads', argv.threads));
      process.env.NANODOSE_THREADS = String(argv.threads); // child processes follow it too
    }
    describeThreads(); // validates NANODOSE_THREADS too, before any work
    if (!argv.quiet) announceThreads((line) => console.error(`[nanodose] ${line}`));
  })
  .fail((msg, err) => {
    // Usage and validation errors: one clear line, non-zero exit. Errors thrown by handlers
    // (for example a config field out of range) print their message without a stack.
    if (err) {
      console.error(`nanodose: ${err.message}`);
      if (process.env.NANODOSE_DEBUG) console.error(err.stack);
    } else {
      console.error(`${msg}\n(see --help)`);
    }
    process.exit(2);
  });

for (const f of files) {
  const mod = (await import(pathToFileURL(join(commandsDir, f)).href)) as { command: CommandModule };
  cli = cli.command(mod.command as CommandModule);
}

await cli.parseAsync();
