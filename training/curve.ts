/**
 * The learning curve of a training run, written beside the model:
 *
 *   learning-curve.csv   one row per epoch: the numbers of log.jsonl (epoch, step, train loss,
 *                        validation loss, held-out deviance, PSNR, SSIM, noisy-input PSNR, lr), written
 *                        with JavaScript's shortest round-trip form so they parse back to the log's values
 *   learning-curve.svg   vega-lite panels (core/plot.ts): loss per epoch (train and
 *                        validation), the self-supervised criterion when there is one, validation PSNR
 *                        with the noisy input's PSNR as a dashed line, and SSIM; the best epoch (the
 *                        checkpoint criterion's) is a vertical rule in every panel
 *   learning-curve.png   the SVG rasterised by resvg
 *
 * The loss axis is linear unless the values span more than a factor of 30, where a log axis keeps
 * the late epochs readable (a flat curve on a log axis spanning decades looks like nothing happens).
 *
 * When: training writes the CSV after every epoch (writeLearningCurveCsv, milliseconds) and draws the
 * SVG/PNG once, when the run ends for any reason it can see (last epoch, early stop, divergence, an
 * error): a drawing costs 1-8 s (vega + resvg), which per epoch was ~15 s of the demo. A run killed
 * from outside leaves the CSV of every finished epoch and no drawing (an older one is removed with the
 * first epoch written after it, so a drawing never shows fewer epochs than the CSV beside it); the
 * resumed run draws the whole curve when it ends.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { renderSvg, svgToPng, type VegaLiteSpec } from '../core/plot.ts';

export interface EpochLog {
  epoch: number;
  trainLoss: number | null;
  valLoss: number;
  /** Self-supervised checkpoint criterion: Poisson deviance against the held-out thinned half (training/criterion.ts). */
  heldoutDeviance?: number;
  psnr?: number;
  ssim?: number;
  noisyPsnr?: number;
  lr: number | null;
  imagesPerSecond: number | null;
  seconds: number;
  step: number;
}

/** CSV columns and the log field each one holds, in order. */
export const CURVE_COLUMNS: [string, keyof EpochLog][] = [
  ['epoch', 'epoch'],
  ['step', 'step'],
  ['train_loss', 'trainLoss'],
  ['val_loss', 'valLoss'],
  ['heldout_deviance', 'heldoutDeviance'],
  ['psnr_db', 'psnr'],
  ['ssim', 'ssim'],
  ['noisy_psnr_db', 'noisyPsnr'],
  ['lr', 'lr'],
];

/** The log as CSV (header + one row per epoch); a missing or null value is an empty cell. */
export function learningCurveCsv(log: EpochLog[]): string {
  const cell = (v: unknown) => (typeof v === 'number' ? String(v) : '');
  const rows = log.map((e) => CURVE_COLUMNS.map(([, k]) => cell(e[k])).join(','));
  return [CURVE_COLUMNS.map(([c]) => c).join(','), ...rows].join('\n') + '\n';
}

/** Parses learning-curve.csv back into records keyed by column (an empty cell is undefined). */
export function parseLearningCurveCsv(text: string): Record<string, number | undefined>[] {
  const [head, ...rows] = text.trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((c, i) => [cols[i], c === '' ? undefined : Number(c)])));
}

type Row = { epoch: number; value: number; series: string };

/** The learning curve as SVG; `bestEpoch` (when given) is marked in every panel. */
export async function learningCurveSvg(log: EpochLog[], title: string, bestEpoch?: number): Promise<string> {
  const pos = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const fin = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const loss: Row[] = [];
  for (const e of log) {
    if (pos(e.trainLoss)) loss.push({ epoch: e.epoch, value: e.trainLoss, series: 'train loss' });
    if (pos(e.valLoss)) loss.push({ epoch: e.epoch, value: e.valLoss, series: 'validation loss' });
  }
  const dev: Row[] = log.filter((e) => fin(e.heldoutDeviance)).map((e) => ({ epoch: e.epoch, value: e.heldoutDeviance!, series: 'held-out deviance' }));
  const psnr: Row[] = log.filter((e) => fin(e.psnr)).map((e) => ({ epoch: e.epoch, value: e.psnr!, series: 'denoised' }));
  const noisy = log.find((e) => fin(e.noisyPsnr))?.noisyPsnr;
  if (psnr.length && noisy !== undefined) for (const e of log) psnr.push({ epoch: e.epoch, value: noisy, series: 'noisy input' });
  const ssim: Row[] = log.filter((e) => fin(e.ssim)).map((e) => ({ epoch: e.epoch, value: e.ssim!, series: 'denoised' }));
  const lossValues = loss.map((r) => r.value);
  const logScale = lossValues.length > 0 && Math.max(...lossValues) / Math.min(...lossValues) > 30;
  const maxEpoch = Math.max(1, ...log.map((e) => e.epoch));
  const panels = [epochChart(`${title}: loss${logScale ? ' (log axis)' : ''}`, loss, logScale ? { type: 'log' } : { zero: false }, 'loss (normalised counts)', maxEpoch, bestEpoch)];
  if (dev.length) panels.push(epochChart('held-out Poisson deviance (criterion)', dev, { zero: false }, 'deviance per pixel', maxEpoch, bestEpoch));
  if (psnr.length) panels.push(epochChart('validation PSNR (dB)', psnr, { zero: false }, 'PSNR (dB)', maxEpoch, bestEpoch));
  if (ssim.length) panels.push(epochChart('validation SSIM', ssim, { zero: false }, 'SSIM', maxEpoch, bestEpoch));
  const spec = (panels.length > 1 ? { concat: panels, columns: 2 } : panels[0]) as unknown as VegaLiteSpec;
  return renderSvg(spec);
}

/** One panel: a line per series against epoch (integer ticks), and a rule at the best epoch. */
function epochChart(title: string, values: Row[], scale: Record<string, unknown>, yTitle: string, maxEpoch: number, bestEpoch?: number) {
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [0, maxEpoch] }, axis: { format: 'd', tickMinStep: 1 } };
  const layer: unknown[] = [
    {
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x,
        y: { field: 'value', type: 'quantitative', scale, title: yTitle },
        color: { field: 'series', type: 'nominal', title: null },
        strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: [...new Set(values.map((v) => v.series))], range: [[1, 0], [5, 3], [2, 2]] } },
      },
    },
  ];
  if (bestEpoch !== undefined) {
    layer.push({
      data: { values: [{ epoch: bestEpoch, label: `best epoch ${bestEpoch}` }] },
      layer: [
        { mark: { type: 'rule', color: 'grey', strokeDash: [4, 2] }, encoding: { x: { field: 'epoch', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'left', dx: 3, dy: -4, baseline: 'top', color: 'grey', y: 0 }, encoding: { x: { field: 'epoch', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    });
  }
  return { title, width: 360, height: 220, layer, resolve: { scale: { color: 'independent', strokeDash: 'independent' } } };
}

/** The drawings writeLearningCurve makes beside the CSV. */
export const CURVE_DRAWINGS = ['learning-curve.svg', 'learning-curve.png'];

/**
 * Writes learning-curve.csv into `dir` (atomically) and removes an older drawing, which would show
 * fewer epochs than the CSV: the per-epoch write of a training run (see the module comment).
 */
export function writeLearningCurveCsv(dir: string, log: EpochLog[]): void {
  writeFileAtomic(join(dir, 'learning-curve.csv'), learningCurveCsv(log));
  for (const f of CURVE_DRAWINGS) rmSync(join(dir, f), { force: true });
}

/**
 * Writes learning-curve.csv, .svg and .png into `dir` (each atomically). The CSV is always written;
 * drawing errors (a font or renderer problem) are returned, not thrown, so a plot never stops training.
 */
export async function writeLearningCurve(dir: string, log: EpochLog[], title: string, bestEpoch?: number): Promise<Error | undefined> {
  writeFileAtomic(join(dir, 'learning-curve.csv'), learningCurveCsv(log));
  let svg: string;
  try {
    svg = await learningCurveSvg(log, title, bestEpoch);
  } catch (e) {
    return e as Error;
  }
  writeFileAtomic(join(dir, 'learning-curve.svg'), svg);
  try {
    writeFileAtomic(join(dir, 'learning-curve.png'), svgToPng(svg));
  } catch (e) {
    return e as Error;
  }
  return undefined;
}
