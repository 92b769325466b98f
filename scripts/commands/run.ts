/**
 * `nanodose run --preset demo|paper|protocols|tiny [--out DIR]`: the main job, generate -> train ->
 * evaluate -> report, on a built-in preset (scripts/pipeline/presets.ts). Resumable: run it again
 * to continue an interrupted run; `--fresh` starts over.
 */
import type { CommandModule } from 'yargs';

interface Args { preset: string; out?: string; fresh: boolean; quiet: boolean; backend: string; 'list-presets': boolean }

export const command: CommandModule<object, Args> = {
  command: 'run',
  describe: 'The main job on a built-in preset: generate a dataset, train denoisers, evaluate dose efficiency, write report.html',
  builder: (y) =>
    y
      .option('preset', { type: 'string', default: 'demo', describe: 'demo (minutes on 2 cores) | paper (science.md set-up, hours) | protocols (acquisition protocols at a fixed total dose) | tiny (32^3: checks the plumbing, not the science); see --list-presets' })
      .option('out', { type: 'string', describe: 'output folder (default runs/<preset>)' })
      .option('fresh', { type: 'boolean', default: false, describe: 'remove the output folder first instead of reusing finished steps' })
      .option('backend', { type: 'string', default: 'auto', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], describe: 'TensorFlow.js backend for training and inference' })
      .option('list-presets', { type: 'boolean', default: false, describe: 'list the presets and exit' })
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { PRESETS, getPreset } = await import('../pipeline/presets.ts');
    if (a['list-presets']) {
      for (const p of Object.values(PRESETS)) console.log(`${p.name.padEnd(10)} ${p.describe}`);
      return;
    }
    const preset = getPreset(a.preset);
    const { runPipeline } = await import('../pipeline/run.ts');
    await runPipeline({ preset, out: a.out ?? `runs/${preset.name}`, fresh: a.fresh, quiet: a.quiet, backend: a.backend as 'auto' });
  },
};
