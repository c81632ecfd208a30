/**
 * The performance report's stored months (migration 0035, store/evaluation-store.ts): a report over closed
 * months reads their stored figures and answers exactly what it answers from the case rows, for every
 * dimension and for periods that start or end inside a month or reach the current one; a change to a case of a
 * closed month sends that month back to the case rows until it is computed again. On PostgreSQL and PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDirectory } from '../../config/load.js'
import { WorkCalendar } from '../../src/domain/calendar.js'
import type { ReportDimension } from '../../src/ports/evaluation-store.js'
import type { Database } from '../../src/store/db.js'
import { PgEvaluationStore, percentileOfRuns, planReport } from '../../src/store/evaluation-store.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

const engines = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
] as const

const dimensions: ReportDimension[] = ['region', 'department', 'item', 'scope', 'mode', 'window']

/**
 * 600 cases submitted over January to April 2025 (closed months), 40 this month, and two bundles: every figure
 * derives from n, handling times are quarters of a day (exact in binary, so sums in any order agree), dates fall
 * in the submission's month or the next ones.
 */
const insertCases = /* sql */ `
with g as (
  select n, (n * 7919) % 1000 as h, (n * 104729) % 997 as h2,
         case when n <= 600 then timestamptz '2025-01-01 00:00+08' + (n - 1) * (interval '120 days' / 600)
              else now() - (n - 600) * interval '1 minute' end as created
    from generate_series(1, 640) n
)
insert into cases (id, created_by, created_by_kind, item, mode, scope, origin_region, processing_region, status,
  applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
  agent_window, form, materials, body_hash, receipt, created_at, updated_at, department, accepted_at,
  clock_budget_days, clock_used_days, clock_running_since, completed_at, rejected_at, overdue_at, handling_days,
  on_time, supplement_rounds, rating, rated_at, parent_id)
select 'rm-' || lpad(n::text, 4, '0'), 'fixture', 'client', 'item-' || (h % 5),
  (array['full_online','online_transfer','offline_proxy','multi_site'])[1 + h % 4],
  (array['cross_province','province_wide','cross_city','within_city'])[1 + h2 % 4],
  '42' || lpad((h2 % 3)::text, 2, '0') || '00', '42' || lpad((h % 4)::text, 2, '0') || '00',
  case when h2 % 10 < 6 then 'completed' when h2 % 10 < 7 then 'rejected' else 'in_review' end,
  'person', '测试', 'resident_id', '\\x00'::bytea, '\\x00'::bytea, '420303********1234',
  case when h % 3 = 0 then null else 'W-' || (h2 % 4) end, '{}'::jsonb, '[]'::jsonb, 'x', 'x',
  created, created, case when h % 7 = 0 then null else 'dept-' || (h % 3) end, created + interval '1 hour',
  case when h % 11 = 0 then null else 5 end, (h % 9)::float8 / 4,
  case when h2 % 10 >= 8 then created + interval '1 hour' end,
  case when h2 % 10 < 6 then created + ((h % 40) + 1) * interval '1 day' end,
  case when h2 % 10 = 6 then created + ((h % 20) + 1) * interval '1 day' end,
  case when h2 % 10 >= 8 or h % 8 = 0 then created + ((h % 30) + 5) * interval '1 day' end,
  case when h2 % 10 < 6 then (h % 33)::float8 / 4 end,
  case when h2 % 10 < 6 and h % 11 <> 0 then (h % 33)::float8 / 4 <= 5 end,
  (h / 7) % 3,
  case when h2 % 10 < 6 and h % 2 = 0 and h % 5 <> 0 then 1 + (h / 11) % 5 end,
  case when h2 % 10 < 6 and h % 2 = 0 and h % 5 <> 0 then created + ((h % 40) + 3) * interval '1 day' end,
  case when n % 50 = 1 then 'rm-p' || (n % 2) end
from g`

/** Two bundle parents (no processing region), rated in February and March: their children are the cases above. */
const insertParents = /* sql */ `
insert into cases (id, created_by, created_by_kind, item, mode, scope, origin_region, processing_region, status,
  applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
  form, materials, body_hash, receipt, created_at, updated_at, rating, rated_at)
select 'rm-p' || k, 'fixture', 'client', null, 'multi_site', 'cross_city', '420300', null, 'completed', 'person',
  '测试', 'resident_id', '\\x00'::bytea, '\\x00'::bytea, '420303********1234', '{}'::jsonb, '[]'::jsonb, 'x', 'x',
  timestamptz '2025-01-02 10:00+08', timestamptz '2025-01-02 10:00+08', 4 - k,
  timestamptz '2025-02-10 10:00+08' + k * interval '30 days'
from generate_series(0, 1) k`

describe.each(engines)('the report’s stored months on $name', ({ open }) => {
  let database: Database
  let drop: () => Promise<void>
  let store: PgEvaluationStore
  let calendar: WorkCalendar
  const now = new Date()
  const tomorrow = new Date(now.getTime() + 86_400_000)
  const periods: [string, Date, Date][] = [
    ['February and March', new Date('2025-02-01T00:00:00+08:00'), new Date('2025-04-01T00:00:00+08:00')],
    ['mid-January to mid-April', new Date('2025-01-15T09:30:00+08:00'), new Date('2025-04-20T00:00:00+08:00')],
    ['March alone', new Date('2025-03-01T00:00:00+08:00'), new Date('2025-04-01T00:00:00+08:00')],
    ['2025 until tomorrow', new Date('2025-01-01T00:00:00+08:00'), tomorrow],
  ]

  async function reports() {
    const out: Record<string, unknown> = {}
    for (const [label, from, to] of periods)
      for (const by of dimensions) out[`${label} by ${by}`] = await store.performance({ from, to, by, now, calendar })
    return out
  }

  /** The reports read from the case rows alone: the stored months set aside for the call, then put back. */
  async function fromCaseRows() {
    const saved = await database.query<{ month: string; computed_at: Date }>(
      `delete from report_month_state returning to_char(month, 'YYYY-MM-DD') as month, computed_at`,
      [],
    )
    try {
      return await reports()
    } finally {
      for (const s of saved)
        await database.query('insert into report_month_state (month, computed_at) values ($1, $2)', [
          s.month,
          s.computed_at,
        ])
    }
  }

  const changes = async () =>
    (
      await database.query<{ month: string }>(
        `select distinct to_char(month, 'YYYY-MM-DD') as month from report_month_changes order by 1`,
        [],
      )
    ).map((r) => r.month)

  beforeAll(async () => {
    ;({ database, drop } = await open())
    store = new PgEvaluationStore(database)
    const { directory } = await loadDirectory(new URL('../../config/data', import.meta.url).pathname)
    calendar = new WorkCalendar(directory.calendars)
    await database.query(insertParents, [])
    await database.query(insertCases, [])
  })
  afterAll(async () => drop?.())

  it('marks the closed months a new case counts in, and none of the current month', async () => {
    const marked = await changes()
    expect(marked[0]).toBe('2025-01-01')
    expect(marked).toContain('2025-04-01')
    const thisMonth = `${new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 7)}-01`
    expect(marked.every((m) => m < thisMonth)).toBe(true)
  })

  it('answers the same from stored months as from the case rows, for every dimension and period', async () => {
    const expected = await fromCaseRows()
    const done = await store.refreshMonths({ limit: 1000 })
    expect(done.computed.slice(0, 5)).toEqual(['2025-01-01', '2025-02-01', '2025-03-01', '2025-04-01', '2025-05-01'])
    expect(done.pending).toBe(0)
    expect(await changes()).toEqual([])
    const stored = await database.query<{ n: number }>(
      `select count(*)::int as n from report_months where month = '2025-03-01' and dimension = 'window'`,
      [],
    )
    expect(stored[0]?.n).toBeGreaterThan(0)
    const got = await reports()
    expect(got).toEqual(expected)
    // Not empty reports agreeing: the fixture fills every figure somewhere.
    const march = got['March alone by region'] as { volume: number; p90HandlingDays: number | null; ratings: number }[]
    expect(march.reduce((n, r) => n + r.volume, 0)).toBeGreaterThan(100)
    expect(march.some((r) => r.p90HandlingDays !== null && r.ratings > 0)).toBe(true)
    // Nothing left to do.
    expect(await store.refreshMonths({ limit: 1000 })).toEqual({ computed: [], pending: 0 })
  })

  it('the p90 is PostgreSQL’s percentile_cont over the period’s completions, from stored months or not', async () => {
    const [from, to] = [new Date('2025-01-15T09:30:00+08:00'), new Date('2025-04-20T00:00:00+08:00')]
    const direct = await database.query<{ key: string; p90: number }>(
      `select processing_region as key, percentile_cont(0.9) within group (order by handling_days) as p90 from cases
        where processing_region is not null and completed_at >= $1 and completed_at < $2 group by 1 order by 1`,
      [from, to],
    )
    expect(direct.length).toBeGreaterThan(1)
    const rows = await store.performance({ from, to, by: 'region', now, calendar })
    expect(rows.filter((r) => r.p90HandlingDays !== null).map((r) => [r.key, r.p90HandlingDays])).toEqual(
      direct.map((d) => [d.key, Math.round(Number(d.p90) * 1000) / 1000]),
    )
  })

  it('reads a current month’s stored figures, not the case rows', async () => {
    await database.query(
      `update report_months set volume = volume + 1000 where month = '2025-03-01' and dimension = 'region'`,
      [],
    )
    const [from, to] = [new Date('2025-03-01T00:00:00+08:00'), new Date('2025-04-01T00:00:00+08:00')]
    expect(planReport(from, to, new Set(['2025-03-01']))).toEqual({ months: ['2025-03-01'], live: [] })
    const rows = await store.performance({ from, to, by: 'region', now, calendar })
    const fromCases = (await fromCaseRows())['March alone by region'] as { volume: number }[]
    expect(rows.reduce((n, r) => n + r.volume, 0)).toBe(
      fromCases.reduce((n, r) => n + r.volume, 0) + 1000 * rows.length,
    )
  })

  it('a change to a case of a closed month sends that month back to the case rows until computed again', async () => {
    // A March case moves department, another is rated now (its month's figures and this month's both change).
    await database.query(`update cases set department = 'dept-moved' where id = 'rm-0400'`, [])
    await database.query(`update cases set rating = 1, rated_at = now() where id = 'rm-0401' and rating is null`, [])
    expect(await changes()).toContain('2025-03-01')
    // The tampered March figures are not read any more: the month comes from the case rows.
    expect(await reports()).toEqual(await fromCaseRows())
    const departments = (await reports())['March alone by department'] as { key: string | null }[]
    expect(departments.map((r) => r.key)).toContain('dept-moved')
    const done = await store.refreshMonths({ limit: 1000 })
    expect(done.computed).toContain('2025-03-01')
    expect(await changes()).toEqual([])
    const stored = await database.query<{ n: number }>(
      `select count(*)::int as n from report_months where month = '2025-03-01' and key = 'dept-moved'`,
      [],
    )
    expect(stored[0]?.n).toBe(1)
    expect(await reports()).toEqual(await fromCaseRows())
  })

  it('a case deleted from a closed month marks it too, and at most `limit` months are computed at once', async () => {
    await database.query(`delete from cases where id in ('rm-0010', 'rm-0300')`, [])
    expect(await changes()).toEqual(expect.arrayContaining(['2025-01-01', '2025-02-01']))
    const first = await store.refreshMonths({ limit: 1 })
    expect(first.computed).toEqual(['2025-01-01'])
    expect(first.pending).toBeGreaterThanOrEqual(1)
    await store.refreshMonths({ limit: 1000 })
    expect(await reports()).toEqual(await fromCaseRows())
  })
})

describe('planReport', () => {
  const at = (s: string) => new Date(`${s}+08:00`)
  const ready = new Set(['2025-01-01', '2025-02-01', '2025-04-01'])

  it('reads whole ready months from their figures and the rest from the case rows', () => {
    expect(planReport(at('2025-01-01T00:00:00'), at('2025-05-01T00:00:00'), ready)).toEqual({
      months: ['2025-01-01', '2025-02-01', '2025-04-01'],
      live: [[at('2025-03-01T00:00:00'), at('2025-04-01T00:00:00')]],
    })
  })

  it('a partial month at either end is read from the case rows', () => {
    expect(planReport(at('2025-01-10T00:00:00'), at('2025-04-30T00:00:00'), ready)).toEqual({
      months: ['2025-02-01'],
      live: [
        [at('2025-01-10T00:00:00'), at('2025-02-01T00:00:00')],
        [at('2025-03-01T00:00:00'), at('2025-04-30T00:00:00')],
      ],
    })
  })

  it('a period within one month, or with nothing ready, is one period of case rows', () => {
    expect(planReport(at('2025-02-03T00:00:00'), at('2025-02-20T00:00:00'), ready)).toEqual({
      months: [],
      live: [[at('2025-02-03T00:00:00'), at('2025-02-20T00:00:00')]],
    })
    expect(planReport(at('2025-01-01T00:00:00'), at('2026-01-01T00:00:00'), new Set())).toEqual({
      months: [],
      live: [[at('2025-01-01T00:00:00'), at('2026-01-01T00:00:00')]],
    })
  })

  it('crosses a year: December then January', () => {
    expect(
      planReport(at('2024-12-01T00:00:00'), at('2025-02-01T00:00:00'), new Set(['2024-12-01', '2025-01-01'])),
    ).toEqual({ months: ['2024-12-01', '2025-01-01'], live: [] })
  })
})

describe('percentileOfRuns', () => {
  /** Ascending runs as float8send writes them: 8-byte big-endian doubles. */
  const bytes = (...runs: number[][]) => {
    const all = runs.flat()
    const view = new DataView(new ArrayBuffer(all.length * 8))
    for (const [i, v] of all.entries()) view.setFloat64(i * 8, v, false)
    return { bytes: new Uint8Array(view.buffer), runs: runs.map((r) => r.length) }
  }
  /** percentile_cont as PostgreSQL defines it, over the values sorted. */
  const reference = (p: number, values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    const pos = p * (sorted.length - 1)
    const [lo, hi] = [sorted[Math.floor(pos)] ?? 0, sorted[Math.ceil(pos)] ?? 0]
    return lo + (hi - lo) * (pos - Math.floor(pos))
  }

  it('interpolates between the two values around the rank, across runs', () => {
    const runs = [
      [0.5, 2, 7.25],
      [1, 1, 3, 9.5, 12],
      [4.75, 6],
    ]
    const { bytes: b, runs: lengths } = bytes(...runs)
    for (const p of [0, 0.5, 0.9, 1]) expect(percentileOfRuns(p, b, lengths)).toBe(reference(p, runs.flat()))
  })

  it('one value, empty runs among others, and none at all', () => {
    const one = bytes([3.5])
    expect(percentileOfRuns(0.9, one.bytes, one.runs)).toBe(3.5)
    const gaps = bytes([], [1, 2], [], [3])
    expect(percentileOfRuns(0.9, gaps.bytes, gaps.runs)).toBe(reference(0.9, [1, 2, 3]))
    expect(percentileOfRuns(0.9, null, [])).toBeNull()
  })
})
