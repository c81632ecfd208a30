/**
 * The performance report (考评), admins only: `GET /v1/admin/reports/performance`. One SQL statement
 * (store/evaluation-store.ts) over the case rows; JSON or CSV.
 */
import { z } from 'zod'
import { cstDate, type WorkCalendar } from '../../domain/calendar.js'
import { AppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import type { EvaluationStore, PerformanceRow, ReportDimension } from '../../ports/evaluation-store.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { departmentsOf, requireDuty } from '../authz.js'
import type { Ctx } from '../context.js'

export const ReportBy = z.enum(['region', 'department', 'item', 'scope', 'mode', 'window'])

/** A date (`YYYY-MM-DD`, midnight China Standard Time) or an instant with its offset. */
export const ReportInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })])

export const PerformanceRowView = z
  .object({
    key: z
      .string()
      .nullable()
      .meta({ description: 'The group: region code, department, item code, scope, mode or window id' }),
    region: z.string().nullable().meta({
      description: "by=window: the window's region (two regions may name windows alike); null otherwise",
    }),
    volume: z.int().meta({ description: 'Cases submitted in the period' }),
    completed: z.int().meta({ description: 'Cases completed in the period' }),
    onTime: z.int(),
    onTimeRate: z.number().nullable().meta({ description: 'onTime / completed (cases with a time limit)' }),
    late: z.int(),
    avgDaysLate: z.number().nullable().meta({ description: 'Working days beyond the limit, average of the late ones' }),
    avgHandlingDays: z.number().nullable().meta({ description: 'Working days, suspensions not counted' }),
    p90HandlingDays: z.number().nullable(),
    overdueNow: z.int().meta({ description: 'Open cases past their due date now (whenever submitted)' }),
    wentOverdue: z.int().meta({
      description: 'Cases that went overdue in the period, whatever they are now (still open, completed later…)',
    }),
    avgDaysOverdueNow: z
      .number()
      .nullable()
      .meta({
        description:
          'Of the open overdue cases (overdueNow): average working days past their time limit now, as the deadline ' +
          'clock counts them (suspensions not counted)',
      }),
    rejections: z.int(),
    supplementRounds: z.int(),
    ratings: z.int(),
    avgRating: z.number().nullable(),
    collectedForOthers: z.int().nullable().meta({ description: '代收 (by=region and by=window only)' }),
    collectedByOthers: z.int().nullable().meta({ description: '被代收 (by=region and by=window only)' }),
  })
  .meta({ id: 'PerformanceRow' })

export const PerformanceReport = z
  .object({
    from: z.string(),
    to: z.string(),
    by: ReportBy,
    rows: z.array(PerformanceRowView),
  })
  .meta({ id: 'PerformanceReport' })
export type PerformanceReport = z.infer<typeof PerformanceReport>

export function toInstant(v: string): Date {
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00+08:00` : v)
}

/** At most this long a period: a report is for a month, a quarter, a year. */
const MAX_DAYS = 3 * 366

/** The calendar month before `now`'s, in CST: the default period ("which districts were late last month"). */
export function lastMonth(now: Date): { from: string; to: string } {
  const [y, m] = cstDate(now).split('-').map(Number) as [number, number]
  const pad = (n: number) => String(n).padStart(2, '0')
  const first = (year: number, month: number) => `${year}-${pad(month)}-01`
  return { from: m === 1 ? first(y - 1, 12) : first(y, m - 1), to: first(y, m) }
}

/** What the report reads: the figures, the time now and the working calendar. */
export interface ReportDeps {
  store: Pick<EvaluationStore, 'performance'>
  clock: Clock
  calendar: () => Promise<WorkCalendar>
  /** The directory's items: a department-limited caller's report by department shows only its departments. */
  items?: () => Promise<ReadonlyMap<string, { department: string; departmentCode: string }>>
  /** The audit trail the report's export is recorded in. */
  trail?: AuditTrail | undefined
}

export async function performanceReport(
  { caller, deps }: Ctx<ReportDeps>,
  q: { from?: string | undefined; to?: string | undefined; by: ReportDimension },
): Promise<PerformanceReport> {
  return auditedBy(deps.trail, caller, 'report.export', 'report:performance', async () => ({
    value: await performanceReportUnaudited(caller, deps.store, q, deps.clock.now(), deps.calendar, deps.items),
    change: { query: { from: q.from ?? null, to: q.to ?? null, by: q.by } },
  }))
}

async function performanceReportUnaudited(
  caller: Caller,
  store: Pick<EvaluationStore, 'performance'>,
  q: { from?: string | undefined; to?: string | undefined; by: ReportDimension },
  now: Date,
  calendar: () => Promise<WorkCalendar>,
  items?: () => Promise<ReadonlyMap<string, { department: string; departmentCode: string }>>,
): Promise<PerformanceReport> {
  requireDuty(caller, 'report')
  if ((q.from === undefined) !== (q.to === undefined)) {
    throw new AppError('validation_failed', 'give both from and to, or neither (last month)', {
      errors: [{ path: q.from === undefined ? 'from' : 'to', message: 'required with the other one' }],
    })
  }
  const period = q.from !== undefined && q.to !== undefined ? { from: q.from, to: q.to } : lastMonth(now)
  const from = toInstant(period.from)
  const to = toInstant(period.to)
  if (!(from < to)) {
    throw new AppError('validation_failed', 'from must be before to', {
      errors: [{ path: 'to', message: `${q.to} is not after ${q.from}` }],
    })
  }
  if (to.getTime() - from.getTime() > MAX_DAYS * 86_400_000) {
    throw new AppError('validation_failed', `the period is longer than ${MAX_DAYS} days`, {
      errors: [{ path: 'to', message: 'ask for a shorter period' }],
    })
  }
  let rows = await store.performance({ from, to, by: q.by, now, calendar: await calendar() })
  const mine = departmentsOf(caller)
  if (mine !== null && q.by === 'department' && items) {
    // The report groups by the department's name (denormalised on each case from its item).
    const names = new Set(
      [...(await items()).values()].filter((i) => mine.includes(i.departmentCode)).map((i) => i.department),
    )
    rows = rows.filter((r) => r.key !== null && names.has(r.key))
  }
  return { from: from.toISOString(), to: to.toISOString(), by: q.by, rows }
}

const columns: (keyof PerformanceRow)[] = [
  'key',
  'volume',
  'completed',
  'onTime',
  'onTimeRate',
  'late',
  'avgDaysLate',
  'avgHandlingDays',
  'p90HandlingDays',
  'overdueNow',
  'wentOverdue',
  'avgDaysOverdueNow',
  'rejections',
  'supplementRounds',
  'ratings',
  'avgRating',
  'collectedForOthers',
  'collectedByOthers',
]

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = String(v)
  // A leading = + - @ would be a formula in a spreadsheet: quote it with a leading apostrophe.
  const safe = /^[=+\-@\t\r]/.test(s) && Number.isNaN(Number(s)) ? `'${s}` : s
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/** RFC 4180 CSV with a header row (`by` names the key column; by=window, the window's region follows it). */
export function reportCsv(report: PerformanceReport): string {
  const cols: (keyof PerformanceRow)[] = report.by === 'window' ? ['key', 'region', ...columns.slice(1)] : columns
  const header = [report.by, ...cols.slice(1)].join(',')
  const lines = report.rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))
  return `${[header, ...lines].join('\r\n')}\r\n`
}
