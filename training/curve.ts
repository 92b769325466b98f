/**
 * The learning curve (train and validation loss per epoch, log scale; validation PSNR when the
 * data has clean maps) as a vega-lite SVG (generators/common/plot.ts).
 */
import { renderSvg, type VegaLiteSpec } from '../generators/common/plot.ts';

export interface EpochLog {
  epoch: number;
  trainLoss: number | null;
  valLoss: number;
  psnr?: number;
  ssim?: number;
  noisyPsnr?: number;
  lr: number | null;
  imagesPerSecond: number | null;
  seconds: number;
  step: number;
}

export async function learningCurveSvg(log: EpochLog[], title: string): Promise<string> {
  const rows: { epoch: number; value: number; series: string }[] = [];
  for (const e of log) {
    if (e.trainLoss !== null && e.trainLoss > 0) rows.push({ epoch: e.epoch, value: e.trainLoss, series: 'train loss' });
    if (e.valLoss > 0) rows.push({ epoch: e.epoch, value: e.valLoss, series: 'validation loss' });
  }
  const psnrRows = log.filter((e) => e.psnr !== undefined && Number.isFinite(e.psnr)).map((e) => ({ epoch: e.epoch, value: e.psnr!, series: 'validation PSNR' }));
  const noisy = log.find((e) => e.noisyPsnr !== undefined)?.noisyPsnr;
  const lossChart = {
    title: `${title}: loss`,
    width: 360,
    height: 220,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'loss (normalised counts)' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const psnrChart = {
    title: `validation PSNR (dB)${noisy !== undefined ? `; noisy input ${noisy.toFixed(2)} dB` : ''}`,
    width: 360,
    height: 220,
    data: { values: psnrRows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: 'PSNR (dB)' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const spec = (psnrRows.length ? { hconcat: [lossChart, psnrChart] } : lossChart) as unknown as VegaLiteSpec;
  return renderSvg(spec);
}
