import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderSvg, svgToPng } from './plot.ts';

test('a vega-lite line chart renders to SVG and PNG', async () => {
  const svg = await renderSvg({
    data: { values: [{ dose: 1, psnr: 10 }, { dose: 10, psnr: 20 }, { dose: 100, psnr: 30 }] },
    mark: 'line',
    encoding: { x: { field: 'dose', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'psnr', type: 'quantitative' } },
    width: 200,
    height: 100,
  });
  assert.match(svg, /^<svg/);
  assert.match(svg, /<path/);
  const png = svgToPng(svg);
  assert.equal([...png.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.ok(png.length > 1000);
});

test.run();
