/**
 * The learning curve (train and validation loss per epoch, log scale; validation PSNR when the
 * data has clean maps) as a vega-lite SVG (generators/common/plot.ts).
 */
import { renderSvg, type VegaLiteSpec } from '../generators/common/plot.ts';

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

export async function learningCurveSvg(log: EpochLog[], title: string): Promise<string> {
  const rows: { epoch: number; value: number; series: string }[] = [];
  for (const e of log) {
    if (e.trainLoss !== null && e.trainLoss > 0) rows.push({ epoch: e.epoch, value: e.trainLoss, series: 'train loss' });
    if (e.valLoss > 0) rows.push({ epoch: e.epoch, value: e.valLoss, series: 'validation loss' });
  }
  const psnrRows = log.filter((e) => e.psnr !== undefined && Number.isFinite(e.psnr)).map((e) => ({ epoch: e.epoch, value: e.psnr!, series: 'validation PSNR' }));
  const noisy = log.find((e) => e.noisyPsnr !== undefined)?.noisyPsnr;
  const lossChart = epochChart(`${title}: loss`, rows, { type: 'log' }, 'loss (normalised counts)');
  const psnrChart = epochChart(`validation PSNR (dB)${noisy !== undefined ? `; noisy input ${noisy.toFixed(2)} dB` : ''}`, psnrRows, { zero: false }, 'PSNR (dB)');
  const spec = (psnrRows.length ? { hconcat: [lossChart, psnrChart] } : lossChart) as unknown as VegaLiteSpec;
  return renderSvg(spec);
}

/** One line chart of a value per epoch, a line per series. */
function epochChart(title: string, values: { epoch: number; value: number; series: string }[], scale: Record<string, unknown>, yTitle: string) {
  return {
    title,
    width: 360,
    height: 220,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', scale, title: yTitle },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
