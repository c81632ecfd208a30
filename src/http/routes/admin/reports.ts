import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import {
  PerformanceReport,
  performanceReport,
  ReportBy,
  ReportInstant,
  reportCsv,
} from '../../../services/reports/performance.js'
import { VolumeQuery, VolumeReport, volumeReport } from '../../../services/reports/volume.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, problems } from '../../openapi.js'

const performance = createRoute({
  method: 'get',
  path: '/v1/admin/reports/performance',
  operationId: 'getPerformanceReport',
  tags: ['admin'],
  security: callerSecurity,
  summary: 'Performance figures (考评) per region, department, item, scope, mode or window; CSV with Accept: text/csv',
  description:
    '`from` (inclusive) and `to` (exclusive) are dates (midnight in China Standard Time) or instants with an offset; ' +
    'both omitted: last calendar month. ' +
    'Volume and supplement rounds count cases submitted in the period; completed, on-time, handling times, ' +
    'rejections, ratings and wentOverdue count what happened in it; overdueNow and avgDaysOverdueNow are the open ' +
    'overdue cases now, whenever submitted. by=window groups by region and window id (`region`). ' +
    'Handling times are working days of the deadline clock (suspensions not counted). Child cases count, parents do not.',
  request: {
    query: z.strictObject({
      from: ReportInstant.optional(),
      to: ReportInstant.optional(),
      by: ReportBy.default('region'),
    }),
  },
  responses: {
    200: {
      description: 'The report',
      content: {
        'application/json': { schema: PerformanceReport },
        'text/csv': { schema: z.string().meta({ description: 'RFC 4180, one header row' }) },
      },
    },
    ...problems(400, 401, 403, 429, 503),
  },
})

const volume = createRoute({
  method: 'get',
  path: '/v1/admin/reports/volume',
  operationId: 'getVolumeReport',
  tags: ['admin'],
  security: callerSecurity,
  summary: 'Cases submitted and completed per day over the last `days` days (China Standard Time), zeros included',
  description:
    'One entry per calendar day in China Standard Time, oldest first, ending today. Child cases count, parents do ' +
    "not (as in the performance report); a department-limited caller counts only its departments' items.",
  request: { query: VolumeQuery },
  responses: {
    200: { description: 'The days', content: { 'application/json': { schema: VolumeReport } } },
    ...problems(400, 401, 403, 429, 503),
  },
})

export function registerReports(api: Api, deps: HttpDeps) {
  api.openapi(volume, async (c) => {
    const ctx = {
      caller: c.get('caller'),
      deps: { store: deps.reports, clock: deps.clock, items: async () => (await deps.directory.snapshot()).items },
    }
    return c.json(await volumeReport(ctx, c.req.valid('query')), 200)
  })

  api.openapi(performance, async (c) => {
    const snapshot = () => deps.directory.snapshot()
    const ctx = {
      caller: c.get('caller'),
      deps: {
        store: deps.reports,
        clock: deps.clock,
        calendar: async () => (await snapshot()).calendar,
        items: async () => (await snapshot()).items,
        trail: deps.auditTrail,
      },
    }
    const report = await performanceReport(ctx, c.req.valid('query'))
    if (/\btext\/csv\b/i.test(c.req.header('accept') ?? '')) {
      const name = `performance-${report.by}-${report.from.slice(0, 10)}.csv`
      return c.body(reportCsv(report), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
      })
    }
    return c.json(report, 200)
  })
}
