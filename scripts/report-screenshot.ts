/**
 * Full-page screenshot of a report.html with headless Chromium (`apt-get install -y chromium`):
 *   node --import tsx scripts/report-screenshot.ts [REPORT_DIR] [OUT.png]
 * Without REPORT_DIR it first writes a small report from the in-memory core-shell test phantoms
 * (eval/harness/testing.ts) so the layout can be checked without a dataset. The picture is the
 * whole page, however long (scripts/screenshot.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { screenshot } from './screenshot.ts';

let dir = process.argv[2];
if (!dir) {
  const { runEvaluation } = await import('../eval/harness/run.ts');
  const { coreShellSource } = await import('../eval/harness/testing.ts');
  dir = mkdtempSync(join(tmpdir(), 'nanodose-shot-'));
  const src = await coreShellSource({ size: 24, nAngles: 15, count: 7, splits: ['test', 'test', 'val', 'test', 'test', 'test', 'train'], pixelSizeNm: 0.5 });
  await runEvaluation({ data: src, methods: 'raw,gaussian,anscombe', doses: '2:2000:4', recon: 'sirt:30', out: dir, quiet: true, bootstrap: 200, tunePhantoms: 1 });
}
const png = resolve(process.argv[3] ?? join(dir, 'report.png'));
const r = await screenshot(resolve(dir, 'report.html'), png);
console.log(`${r.png}: ${r.width} x ${r.height} px (full page)`);
