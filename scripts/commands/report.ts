/**
 * `nanodose report PART_DIR... --out DIR`: merges the folders of `nanodose eval --shard i/k` (one
 * per job-array task) into one results.csv, summary.json, plots/ and report.html, identical to a
 * single-process `nanodose eval` with the same settings (eval/report/merge.ts). With one folder of a
 * whole run it rewrites that run's summary and report.
 */
import type { CommandModule } from 'yargs';

interface Args { parts: string[]; out: string; quiet: boolean }

export const command: CommandModule<object, Args> = {
  command: 'report <parts..>',
  describe: "Merge the result folders of 'nanodose eval --shard i/k' into one results.csv, summary.json and report.html",
  builder: (y) =>
    y
      .positional('parts', { type: 'string', array: true, demandOption: true, describe: 'the --out folders of every shard 0/k .. k-1/k of one run' })
      .option('out', { type: 'string', demandOption: true, describe: 'folder for the merged results.csv, summary.json, plots/ and report.html' })
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { mergeShards } = await import('../../eval/report/merge.ts');
    const { headlineSentence } = await import('../../eval/report/summary.ts');
    const r = await mergeShards(a.parts, a.out, { quiet: a.quiet });
    if (!a.quiet) {
      console.log(headlineSentence(r.summary));
      console.log(`report: ${a.out}/report.html`);
    }
  },
};
