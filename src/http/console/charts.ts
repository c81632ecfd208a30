/**
 * Charts in the console: Apache ECharts, served by the gateway itself from node_modules (these consoles run
 * on government intranets: no CDN), and one small script that draws every `<div data-chart>` of a page from
 * the JSON in its attribute (the CSP allows 'self' only, so nothing is inline). A page without script still
 * has its table.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Context } from 'hono'
import { html } from 'hono/html'
import type { Html } from './layout.js'

const require = createRequire(import.meta.url)
const echartsDir = path.dirname(require.resolve('echarts/package.json'))
const echartsVersion = (require('echarts/package.json') as { version: string }).version

let echartsSource: string | undefined
/** `GET /console/static/echarts.min.js`: read once, cached by browsers for a day and revalidated by version. */
export function serveEcharts(c: Context): Response {
  const etag = `"echarts-${echartsVersion}"`
  const headers = {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'public, max-age=86400',
    etag,
  }
  if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers)
  echartsSource ??= readFileSync(path.join(echartsDir, 'dist', 'echarts.min.js'), 'utf8')
  return c.body(echartsSource, 200, headers)
}

/** What a chart shows: categories along x, one or more series (bars or lines), an optional percent axis. */
export interface ChartSpec {
  title: string
  categories: string[]
  series: { name: string; type: 'bar' | 'line'; data: (number | null)[]; percent?: boolean }[]
}

/** The element a chart is drawn into, with its spec; the scripts once per page. */
export function chart(id: string, spec: ChartSpec): Html {
  return html`<div class="chart" id="${id}" data-chart="${JSON.stringify(spec)}" role="img" aria-label="${spec.title}"></div>`
}
export const chartScripts = html`<script src="/console/static/echarts.min.js" defer></script><script src="/console/static/charts.js" defer></script>`

export const chartsJs = `
(function () {
  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var spec = JSON.parse(el.getAttribute('data-chart'));
      var percent = spec.series.some(function (s) { return s.percent; });
      if (!el.style.height) el.style.height = '320px';
      var chart = window.echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption({
        // Drawn at once: a printed or captured page shows the whole chart, and old intranet PCs are spared.
        animation: false,
        title: { text: spec.title, left: 'center', textStyle: { fontSize: 15 } },
        tooltip: { trigger: 'axis' },
        legend: { bottom: 0 },
        grid: { left: 48, right: percent ? 56 : 24, top: 48, bottom: 56, containLabel: true },
        xAxis: { type: 'category', data: spec.categories, axisLabel: { interval: spec.categories.length > 15 ? 'auto' : 0, rotate: spec.categories.length > 6 ? 30 : 0 } },
        yAxis: percent
          ? [{ type: 'value', name: '件', minInterval: 1 }, { type: 'value', name: '按时率', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }]
          : [{ type: 'value', name: '件', minInterval: 1 }],
        series: spec.series.map(function (s) {
          return {
            name: s.name,
            type: s.type,
            yAxisIndex: s.percent ? 1 : 0,
            barMaxWidth: 48,
            data: s.percent ? s.data.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }) : s.data,
          };
        }),
      });
      window.addEventListener('resize', function () { chart.resize(); });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();
})();
`
