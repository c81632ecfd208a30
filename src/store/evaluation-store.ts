/**
 * The evaluation queries (考评): the performance report, the timers due, and the figures of `/metrics`.
 * Each reads the case row's own columns (migration 0006 keeps them there: acceptance, completion, working-day
 * handling time, rating, department), with no joins. The report adds up the stored figures of the closed months
 * in its period (migration 0035, `refreshMonths`) and reads the rest from the case rows: a year of a million
 * cases is twelve months of stored figures, not a million rows.
 */

import { type SQL, sql } from 'drizzle-orm'
import { cstDate, type WorkCalendar } from '../domain/calendar.js'
import type {
  CaseGauges,
  DueTimer,
  EvaluationStore,
  PerformanceRow,
  ReportDimension,
  VolumeDay,
} from '../ports/evaluation-store.js'
import { type Database, queryRows } from './db.js'

const inPeriod = (col: string, r: Period = { from: '$1', to: '$2' }) => `(${col} >= ${r.from} and ${col} < ${r.to})`
const openOverdue = `(overdue_at is not null and completed_at is null and rejected_at is null and status <> 'withdrawn')`

/** The placeholders of a period's bounds in a statement. */
interface Period {
  from: string
  to: string
}

/** Collected at a window in one region for processing in another (代收 / 被代收). */
const collected = (r: Period) =>
  `(${inPeriod('created_at', r)} and agent_window is not null and origin_region <> processing_region)`

/**
 * The figures of a period that add up over periods: counts and sums, and the handling times of its completions
 * (for an exact p90 over several periods: ascending, each an 8-byte big-endian double, as `float8send` writes
 * it; `percentileOfRuns` reads them). The columns of `report_months` (migration 0035), in its order.
 */
const additive = (r: Period) => /* sql */ `
  count(*) filter (where ${inPeriod('created_at', r)})::int as volume,
  count(*) filter (where ${inPeriod('completed_at', r)})::int as completed,
  count(*) filter (where ${inPeriod('completed_at', r)} and on_time)::int as on_time,
  count(*) filter (where ${inPeriod('completed_at', r)} and on_time is not null)::int as timed,
  count(*) filter (where ${inPeriod('completed_at', r)} and not on_time)::int as late,
  sum((handling_days - clock_budget_days)::numeric) filter (where ${inPeriod('completed_at', r)} and not on_time)
    as late_days_sum,
  count(handling_days - clock_budget_days) filter (where ${inPeriod('completed_at', r)} and not on_time)::int as late_days_n,
  sum(handling_days::numeric) filter (where ${inPeriod('completed_at', r)}) as handling_sum,
  coalesce(string_agg(float8send(handling_days), ''::bytea order by handling_days)
    filter (where ${inPeriod('completed_at', r)} and handling_days is not null), ''::bytea) as handling,
  count(*) filter (where ${inPeriod('overdue_at', r)})::int as went_overdue,
  count(*) filter (where ${inPeriod('rejected_at', r)})::int as rejections,
  coalesce(sum(supplement_rounds) filter (where ${inPeriod('created_at', r)}), 0)::int as supplement_rounds,
  count(rating) filter (where ${inPeriod('rated_at', r)})::int as ratings,
  coalesce(sum(rating) filter (where ${inPeriod('rated_at', r)}), 0)::bigint as rating_sum,
  count(*) filter (where ${collected(r)})::int as collected`

/** The additive columns, in `additive`'s order. */
const additiveColumns = [
  'volume',
  'completed',
  'on_time',
  'timed',
  'late',
  'late_days_sum',
  'late_days_n',
  'handling_sum',
  'handling',
  'went_overdue',
  'rejections',
  'supplement_rounds',
  'ratings',
  'rating_sum',
  'collected',
] as const

/** Cases that count for something of the period in `additive`; each branch has its index. */
const touches = (r: Period) => `processing_region is not null and (${inPeriod('created_at', r)}
  or ${inPeriod('completed_at', r)} or ${inPeriod('rejected_at', r)} or ${inPeriod('rated_at', r)}
  or ${inPeriod('overdue_at', r)})`

/**
 * What the stored months are kept by: each report dimension, and `origin` (a region's windows' collections for
 * others, keyed by the collecting region: the 代收 of the report by region).
 */
type StoredDimension = ReportDimension | 'origin'

/** A dimension's group: its key and (by window) region columns, and which cases have one. */
const groupOf: Record<StoredDimension, { key: string; region: string; where: string }> = {
  region: { key: 'processing_region', region: 'null::text', where: 'true' },
  department: { key: 'department', region: 'null::text', where: 'true' },
  item: { key: 'item', region: 'null::text', where: 'true' },
  scope: { key: 'scope', region: 'null::text', where: 'true' },
  mode: { key: 'mode', region: 'null::text', where: 'true' },
  // A window is its region (where its cases start) and its id: two regions may name windows alike.
  window: { key: 'agent_window', region: 'origin_region', where: 'agent_window is not null' },
  origin: { key: 'origin_region', region: 'null::text', where: 'true' },
}

/** The stored dimensions a report reads: its own, and where 代收/被代收 come from. */
const partsOf: Record<ReportDimension, StoredDimension[]> = {
  region: ['region', 'origin'],
  window: ['window', 'region'],
  department: ['department'],
  item: ['item'],
  scope: ['scope'],
  mode: ['mode'],
}

/**
 * Every stored dimension of one month (`$1`, `$2` its bounds, `$3` its first day) in one scan: a grouping set
 * per dimension (`grouping(col) = 0` names the set a row belongs to).
 */
const monthFiguresSql = /* sql */ `
insert into report_months (month, dimension, key, region, ${additiveColumns.join(', ')})
select $3::date, dimension, key, region, ${additiveColumns
  .map((c) => (c === 'handling' ? `case when dimension = 'origin' then ''::bytea else handling end` : c))
  .join(', ')}
  from (select case when grouping(processing_region) = 0 then 'region' when grouping(department) = 0 then 'department'
                    when grouping(item) = 0 then 'item' when grouping(scope) = 0 then 'scope'
                    when grouping(mode) = 0 then 'mode' when grouping(agent_window) = 0 then 'window'
                    else 'origin' end as dimension,
               case when grouping(processing_region) = 0 then processing_region::text
                    when grouping(department) = 0 then department::text when grouping(item) = 0 then item::text
                    when grouping(scope) = 0 then scope::text when grouping(mode) = 0 then mode::text
                    when grouping(agent_window) = 0 then agent_window::text else origin_region::text end as key,
               case when grouping(agent_window) = 0 then origin_region::text end as region,
               ${additive({ from: '$1', to: '$2' })}
          from cases where ${touches({ from: '$1', to: '$2' })}
         group by grouping sets ((processing_region), (department), (item), (scope), (mode),
                                 (agent_window, origin_region), (origin_region))) g
 where not (dimension = 'window' and key is null)`

/**
 * Ratings of bundles given in the period, per group. A bundle (thing, multi-site) is rated once, on its
 * parent; the children are the cases handled, so the parent's score counts for its children's groups, once
 * per group however many of its children the group holds (a child rated on its own counts as itself, in
 * `additive`). Parents are few: this reads the parents rated in the period and their children by index.
 */
const bundleRatings = (key: string, region?: string) => {
  const cols = region === undefined ? 'key' : 'key, region'
  return `r as materialized (
  select ${cols}, count(*)::int as n, sum(rating) as s
    from (select distinct c.${key} as key,${region === undefined ? '' : ` c.${region} as region,`} p.id, p.rating
            from cases p join cases c on c.parent_id = p.id
           where p.processing_region is null and p.rating is not null and c.rating is null
             and ${inPeriod('p.rated_at')}) given
   group by ${cols})`
}

/**
 * The running clocks of the open overdue cases, per group and CST day of `clock_running_since` (`ov`'s buckets):
 * how many, and their milliseconds into that day. Enough to add up, exactly and over the working-day calendar,
 * the working time they have run until now (`runningDays`) without a row per case.
 */
const runningClocks = `d as materialized (
  select key, region, jsonb_agg(jsonb_build_array(day, running, into_day_ms)) as running
    from ov where running > 0 group by key, region)`

/** A group's ratings: its cases' own, and the bundles' (`f` the figures, `r` the bundle ratings). */
const ratingColumns = `coalesce(f.own_ratings, 0) + coalesce(r.n, 0) as ratings,
  (coalesce(f.own_rating_sum, 0) + coalesce(r.s, 0))::float8 / nullif(coalesce(f.own_ratings, 0) + coalesce(r.n, 0), 0)
    as avg_rating`
/** Groups match on their key, null included (e.g. an item without a department). */
const sameKey = (a: string, b: string) => `coalesce(${a}, '') = coalesce(${b}, '')`

interface FigureRow extends Record<string, unknown> {
  key: string | null
  region?: string | null
  volume: number
  completed: number
  on_time: number
  timed: number
  late: number
  avg_days_late: number | string | null
  avg_days: number | string | null
  /** The handling times of the group's completions: sorted runs (`additive`), `runs` their lengths. */
  handling: Uint8Array | null
  runs: number[] | null
  overdue_now: number
  went_overdue: number
  overdue_clocked: number
  overdue_used_beyond: number | string | null
  /** `[CST day number, cases, sum of their milliseconds into that day]` of the running clocks (`runningClocks`). */
  running: [number, number, number][] | null
  rejections: number
  supplement_rounds: number
  ratings: number
  avg_rating: number | string | null
  collected_for_others?: number | string | null
  collected_by_others?: number | string | null
}

const num = (v: number | string | null | undefined): number | null =>
  v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 1000

const DAY_MS = 86_400_000
const CST_OFFSET_MS = 8 * 3_600_000

/**
 * Working days that clocks started at many instants have run until `now`, summed over the calendar: per
 * bucket (a CST day, the clocks started that day and their milliseconds into it), the rest of that day if it
 * is a working day, then the working days from its end until `now` (computed once per day, chained from the
 * latest back). The same count as `WorkCalendar.workingDaysBetween` case by case, without a row per case.
 */
export function runningDays(
  buckets: readonly [number, number, number][],
  calendar: WorkCalendar,
  now: Date,
  days: DayTable = dayTable(
    buckets.map(([day]) => day),
    calendar,
    now,
  ),
): number {
  const at = now.getTime()
  const start = (day: number) => day * DAY_MS - CST_OFFSET_MS
  let total = 0
  for (const [day, n, intoDay] of buckets) {
    if (days.working.get(day)) {
      const upTo = Math.min(at, start(day + 1)) - start(day)
      total += Math.max(0, n * upTo - Number(intoDay)) / DAY_MS
    }
    total += n * (days.fromEnd.get(day) ?? 0)
  }
  return total
}

/** Per CST day number: the working days from its end until `now`, and whether it is a working day itself. */
interface DayTable {
  fromEnd: ReadonlyMap<number, number>
  working: ReadonlyMap<number, boolean>
}

/**
 * The `DayTable` of some days, chained from the latest back (each gap counted once): built once for a whole
 * report, it serves every group's clocks, whose days are mostly the same.
 */
function dayTable(list: Iterable<number>, calendar: WorkCalendar, now: Date): DayTable {
  const at = now.getTime()
  const start = (day: number) => day * DAY_MS - CST_OFFSET_MS
  const all = [...new Set(list)]
  const fromEnd = new Map<number, number>()
  let acc = 0
  let until = at
  for (const day of all.filter((d) => start(d + 1) < at).sort((a, b) => b - a)) {
    acc += calendar.workingDaysBetween(new Date(start(day + 1)), new Date(until))
    fromEnd.set(day, acc)
    until = start(day + 1)
  }
  const working = new Map(
    all.map((day) => [day, calendar.isWorkingDay(new Date(day * DAY_MS).toISOString().slice(0, 10))]),
  )
  return { fromEnd, working }
}

/**
 * PostgreSQL's `percentile_cont(p)` of the values in `bytes`: ascending runs (of the given lengths) of 8-byte
 * big-endian doubles. The two values around the rank are found from the top of the runs (a p90 walks a tenth of
 * them) and interpolated as PostgreSQL does, so the answer is the same to the last bit; null for no values.
 */
export function percentileOfRuns(p: number, bytes: Uint8Array | null, runs: readonly number[]): number | null {
  const total = runs.reduce((a, b) => a + b, 0)
  if (bytes === null || total === 0) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  // Each run's end (exclusive) and the next index to take from its top.
  const starts: number[] = []
  let at = 0
  for (const n of runs) {
    starts.push(at)
    at += n
  }
  const next = runs.map((n, i) => (starts[i] ?? 0) + n - 1)
  const pos = p * (total - 1)
  const [lo, hi] = [Math.floor(pos), Math.ceil(pos)]
  let loValue = 0
  let hiValue = 0
  // Descending: the value of ascending rank `total - 1 - taken`.
  for (let taken = 0; taken <= total - 1 - lo; taken++) {
    let best = -1
    let bestValue = Number.NEGATIVE_INFINITY
    for (let i = 0; i < next.length; i++) {
      const j = next[i] ?? -1
      if (j < (starts[i] ?? 0)) continue
      const v = view.getFloat64(j * 8, false)
      if (best === -1 || v > bestValue) {
        best = i
        bestValue = v
      }
    }
    next[best] = (next[best] ?? 0) - 1
    const rank = total - 1 - taken
    if (rank === hi) hiValue = bestValue
    if (rank === lo) loValue = bestValue
  }
  return lo === hi ? loValue : loValue + (hiValue - loValue) * (pos - lo)
}

function toRow(
  r: FigureRow,
  collecting: boolean,
  windows: boolean,
  days: DayTable,
  calendar: WorkCalendar,
  now: Date,
): PerformanceRow {
  const clocked = Number(r.overdue_clocked ?? 0)
  const beyond =
    clocked > 0 ? Number(r.overdue_used_beyond ?? 0) + runningDays(r.running ?? [], calendar, now, days) : 0
  return {
    key: r.key,
    region: windows ? (r.region ?? null) : null,
    volume: Number(r.volume ?? 0),
    completed: Number(r.completed ?? 0),
    onTime: Number(r.on_time ?? 0),
    onTimeRate: Number(r.timed ?? 0) > 0 ? num(Number(r.on_time) / Number(r.timed)) : null,
    late: Number(r.late ?? 0),
    avgDaysLate: num(r.avg_days_late),
    avgHandlingDays: num(r.avg_days),
    p90HandlingDays: num(percentileOfRuns(0.9, r.handling, r.runs ?? [])),
    overdueNow: Number(r.overdue_now ?? 0),
    wentOverdue: Number(r.went_overdue ?? 0),
    avgDaysOverdueNow: clocked > 0 ? num(beyond / clocked) : null,
    rejections: Number(r.rejections ?? 0),
    supplementRounds: Number(r.supplement_rounds ?? 0),
    ratings: Number(r.ratings ?? 0),
    avgRating: num(r.avg_rating),
    collectedForOthers: collecting ? Number(r.collected_for_others ?? 0) : null,
    collectedByOthers: collecting ? Number(r.collected_by_others ?? 0) : null,
  }
}

/**
 * Where a report's figures come from: the stored months (`$3` the dimensions, `$4` the months, as array
 * literals) and the periods read from the case rows (`$5`, `$6` the first, and so on).
 */
export interface ReportPlan {
  stored: boolean
  live: number
}

/** The placeholders of the `i`th period read from the case rows. */
const livePeriod = (i: number): Period => ({ from: `$${5 + 2 * i}`, to: `$${6 + 2 * i}` })

/**
 * The groups' figures, dimension by dimension (`dim`): the stored months' rows and the live periods' rows, which
 * add up, and (for the report's own dimension) the open overdue cases now, which belong to no period.
 */
function parts(by: ReportDimension, plan: ReportPlan): string {
  const branches: string[] = []
  const none = `0::int as overdue_now, 0::int as overdue_clocked, null::float8 as overdue_used_beyond`
  if (plan.stored) {
    branches.push(`select dimension as dim, key, region, ${additiveColumns.join(', ')}, ${none}
      from report_months where dimension = any($3::text[]) and month = any($4::date[])`)
  }
  for (const dim of partsOf[by]) {
    const g = groupOf[dim]
    for (let i = 0; i < plan.live; i++) {
      const r = livePeriod(i)
      branches.push(`select '${dim}'::text as dim, ${g.key}::text as key, ${g.region} as region, ${additive(r)}, ${none}
        from cases where ${g.where} and ${touches(r)} group by 2, 3`)
    }
  }
  const g = groupOf[by]
  const zeros = additiveColumns
    .map((c) => (c === 'handling' ? `''::bytea as ${c}` : c.endsWith('_sum') ? `null::numeric as ${c}` : `0 as ${c}`))
    .join(', ')
  branches.push(`select '${by}'::text as dim, key, region, ${zeros}, sum(n)::int as overdue_now,
      sum(clocked)::int as overdue_clocked, sum(beyond)::float8 as overdue_used_beyond
    from ov group by 2, 3`)
  // The open overdue cases, read once (from their partial index alone) into buckets per group and CST day their
  // clock started (null: not running): their counts, how far beyond their limit, and the running clocks' start.
  return `ov as materialized (
            select key, region, day, count(*) as n, count(*) filter (where clock_budget_days is not null) as clocked,
                   sum(clock_used_days - clock_budget_days) filter (where clock_budget_days is not null) as beyond,
                   count(local) filter (where clock_budget_days is not null)::int as running,
                   sum(date_part('epoch', local::time) * 1000) filter (where clock_budget_days is not null) as into_day_ms
              from (select ${g.key}::text as key, ${g.region} as region, clock_budget_days, clock_used_days,
                           (clock_running_since at time zone 'UTC') + interval '8 hours' as local,
                           ((clock_running_since at time zone 'UTC') + interval '8 hours')::date - date '1970-01-01' as day
                      from cases where ${g.where} and processing_region is not null and ${openOverdue}) c
             group by 1, 2, 3),
          parts as (${branches.join('\n union all ')})`
}

/** The report's own dimension's figures per group, summed over its parts (`collected` names 代收 or 被代收). */
const summed = (by: ReportDimension, collectedAs: string) => `s as materialized (
  select key, region, sum(volume)::int as volume, sum(completed)::int as completed, sum(on_time)::int as on_time,
         sum(timed)::int as timed, sum(late)::int as late, sum(late_days_sum) / nullif(sum(late_days_n), 0) as avg_days_late,
         sum(handling_sum) / nullif(sum(octet_length(handling)) / 8, 0) as avg_days,
         sum(overdue_now)::int as overdue_now, sum(went_overdue)::int as went_overdue,
         sum(overdue_clocked)::int as overdue_clocked, sum(overdue_used_beyond) as overdue_used_beyond,
         sum(rejections)::int as rejections, sum(supplement_rounds)::int as supplement_rounds,
         sum(ratings)::int as own_ratings, sum(rating_sum) as own_rating_sum, sum(collected)::int as ${collectedAs}
    from parts where dim = '${by}' group by key, region),
  p as materialized (select key, region, string_agg(handling, ''::bytea) as handling,
                            array_agg(octet_length(handling) / 8) as runs
                       from parts where dim = '${by}' and octet_length(handling) > 0 group by key, region),
  f as materialized (select s.*, p.handling, p.runs
                       from s left join p on p.key is not distinct from s.key and p.region is not distinct from s.region)`

/** The statement of `performance` (`$1` from, `$2` to, and `plan`'s parameters): exported for EXPLAIN in the benchmark. */
export function reportSql(by: ReportDimension, plan: ReportPlan): string {
  if (by === 'region') {
    // A processing region's figures, beside what its windows collected for others (keyed by origin).
    return `with ${parts(by, plan)}, ${summed(by, 'collected_by_others')},
                 o as materialized (select key, sum(collected)::int as collected_for_others from parts where dim = 'origin'
                        group by key having sum(collected) > 0),
                 ${bundleRatings('processing_region')},
                 ${runningClocks}
            select f.*, coalesce(o.collected_for_others, 0) as collected_for_others, d.running,
                   ${ratingColumns}, coalesce(f.key, o.key, r.key) as key
              from f left join d on d.key = f.key
                     full join o on o.key = f.key full join r on r.key = coalesce(f.key, o.key)
             order by coalesce(f.key, o.key, r.key)`
  }
  if (by === 'window') {
    // 被代收: what other regions' windows collected for the window's region.
    return `with ${parts(by, plan)}, ${summed(by, 'collected_for_others')},
                 b as materialized (select key as region, sum(collected)::int as n from parts where dim = 'region' group by key),
                 ${bundleRatings('agent_window', 'origin_region')},
                 ${runningClocks}
            select f.*, coalesce(b.n, 0) as collected_by_others, d.running,
                   ${ratingColumns}, coalesce(f.key, r.key) as key, coalesce(f.region, r.region) as region
              from f left join d on d.key = f.key and d.region = f.region
                     full join r on r.key = f.key and r.region = f.region
                     left join b on b.region = coalesce(f.region, r.region)
             where coalesce(f.key, r.key) is not null
             order by coalesce(f.key, r.key), coalesce(f.region, r.region)`
  }
  const key = groupOf[by].key
  return `with ${parts(by, plan)}, ${summed(by, 'collected')},
               ${bundleRatings(key)},
               ${runningClocks}
          select f.*, d.running, ${ratingColumns}, coalesce(f.key, r.key) as key
            from f left join d on d.key is not distinct from f.key
                   full join r on ${sameKey('f.key', 'r.key')}
           order by coalesce(f.key, r.key)`
}

/** Advisory-lock key of the month computation ('rpms' in ASCII). */
const REPORT_MONTHS_LOCK_KEY = 0x72706d73

/** A statement's `$n` placeholders bound to `params[n - 1]` (the text comes from this file, never from a request). */
function withParams(text: string, params: readonly unknown[]): SQL {
  return sql.join(
    text.split(/(\$\d+)/).map((part) => {
      const n = /^\$(\d+)$/.exec(part)?.[1]
      return n === undefined ? sql.raw(part) : sql`${params[Number(n) - 1]}`
    }),
  )
}

/** The CST month (`YYYY-MM-01`) of an instant. */
const cstMonth = (at: Date) => `${cstDate(at).slice(0, 7)}-01`
/** The first instant of a CST month. */
const monthStart = (month: string) => new Date(`${month}T00:00:00+08:00`)
function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
}

/**
 * Splits [from, to) into the whole months whose stored figures are `ready` and the periods read from the case
 * rows (the rest: a partial month at either end, the current month, a month not computed or changed since).
 */
export function planReport(
  from: Date,
  to: Date,
  ready: ReadonlySet<string>,
): { months: string[]; live: [Date, Date][] } {
  const months: string[] = []
  const live: [Date, Date][] = []
  let liveFrom = from
  let month = monthStart(cstMonth(from)) < from ? nextMonth(cstMonth(from)) : cstMonth(from)
  while (monthStart(nextMonth(month)) <= to) {
    if (ready.has(month)) {
      if (liveFrom < monthStart(month)) live.push([liveFrom, monthStart(month)])
      months.push(month)
      liveFrom = monthStart(nextMonth(month))
    }
    month = nextMonth(month)
  }
  if (liveFrom < to) live.push([liveFrom, to])
  return { months, live }
}

export class PgEvaluationStore implements EvaluationStore {
  constructor(private readonly database: Database) {}

  async dueTimers(now: Date, limit: number): Promise<DueTimer[]> {
    const rows = await this.database.query<{ id: string; kind: DueTimer['kind']; at: string | Date }>(
      `(select id, 'warning' as kind, warn_at as at from cases
         where clock_running_since is not null and warn_at is not null and warn_at <= $1 order by warn_at limit $2)
       union all
       (select id, 'overdue' as kind, due_at + interval '1 millisecond' as at from cases
         where clock_running_since is not null and overdue_at is null and due_at < $1 order by due_at limit $2)`,
      [now.toISOString(), limit],
    )
    return rows.map((r) => ({ caseId: r.id, kind: r.kind, at: new Date(r.at) }))
  }

  async performance(q: {
    from: Date
    to: Date
    by: ReportDimension
    now: Date
    calendar: WorkCalendar
  }): Promise<PerformanceRow[]> {
    const rows = await this.database.transaction(async (tx) => {
      // One aggregate scan: JIT compilation would cost more than it saves (about 1.5 s measured on a
      // million cases), and the per-group sorts of the percentile fit in memory.
      await tx.db.execute(sql`select set_config('jit', 'off', true), set_config('work_mem', '64MB', true)`)
      // The whole months of the period whose figures are stored and current (no change to their cases since).
      const ready = await queryRows<{ month: string }>(
        tx.db,
        sql`select to_char(s.month, 'YYYY-MM-DD') as month from report_month_state s
             where s.month >= ${cstMonth(q.from)} and s.month <= ${cstMonth(q.to)} and s.month < tongban_cst_month(now())
               and not exists (select 1 from report_month_changes c where c.month = s.month)`,
      )
      const plan = planReport(q.from, q.to, new Set(ready.map((r) => r.month)))
      const params: unknown[] = [
        q.from.toISOString(),
        q.to.toISOString(),
        `{${partsOf[q.by].join(',')}}`,
        `{${plan.months.join(',')}}`,
        ...plan.live.flatMap(([from, to]) => [from.toISOString(), to.toISOString()]),
      ]
      const text = reportSql(q.by, { stored: plan.months.length > 0, live: plan.live.length })
      return queryRows<FigureRow>(tx.db, withParams(text, params))
    })
    // The days the clocks started, across every group: their working days until now are counted once.
    const days = dayTable(
      rows.flatMap((r) => (r.running ?? []).map(([day]) => day)),
      q.calendar,
      q.now,
    )
    return rows.map((r) => toRow(r, q.by === 'region' || q.by === 'window', q.by === 'window', days, q.calendar, q.now))
  }

  async refreshMonths(q: { limit: number }): Promise<{ computed: string[]; pending: number }> {
    // Closed for a quarter of an hour: a transaction that began before the month's end has committed by then.
    const todo = await this.database.query<{ month: string }>(
      `with b as (select tongban_cst_month(now() - interval '15 minutes') as open_from,
                         (select tongban_cst_month(min(created_at)) from cases) as first)
       select to_char(m, 'YYYY-MM-DD') as month
         from (select distinct c.month as m from report_month_changes c, b where c.month < b.open_from
               union
               select gs::date from b, generate_series(b.first, b.open_from - interval '1 month', interval '1 month') gs
                where not exists (select 1 from report_month_state s where s.month = gs::date)) x
        order by m`,
      [],
    )
    const computed: string[] = []
    for (const { month } of todo.slice(0, q.limit)) {
      await this.computeMonth(month)
      computed.push(month)
    }
    return { computed, pending: todo.length - computed.length }
  }

  /** One month's figures, replaced in one transaction; the changes it has taken into account are forgotten. */
  private async computeMonth(month: string): Promise<void> {
    await this.database.transaction(async (tx) => {
      // One at a time (several instances' schedules); the statements after the lock see what committed before it.
      await tx.db.execute(sql`select pg_advisory_xact_lock(${REPORT_MONTHS_LOCK_KEY})`)
      await tx.db.execute(
        sql`select set_config('jit', 'off', true), set_config('work_mem', '64MB', true),
                   set_config('statement_timeout', '10min', true)`,
      )
      // Deleted before reading: a change that commits meanwhile leaves its own mark, and the month is computed again.
      await tx.db.execute(sql`delete from report_month_changes where month = ${month}`)
      await tx.db.execute(sql`delete from report_months where month = ${month}`)
      const from = monthStart(month)
      await tx.db.execute(
        withParams(monthFiguresSql, [from.toISOString(), monthStart(nextMonth(month)).toISOString(), month]),
      )
      await tx.db.execute(
        sql`insert into report_month_state (month, computed_at) values (${month}, now())
            on conflict (month) do update set computed_at = excluded.computed_at`,
      )
    })
  }

  async volume(q: { from: string; to: string; items?: readonly string[] }): Promise<VolumeDay[]> {
    // CST has no daylight saving: a day is the UTC instant plus eight hours, as the case numbers count it
    // (migration 0029); the bounds are midnight CST so each branch uses its column's index.
    const from = `${q.from}T00:00:00+08:00`
    const to = `${q.to}T00:00:00+08:00`
    const ofItems =
      q.items === undefined
        ? sql``
        : q.items.length === 0
          ? sql` and false`
          : sql` and item in (${sql.join(
              q.items.map((i) => sql`${i}`),
              sql`, `,
            )})`
    const cstDay = (col: string) => sql.raw(`((${col} at time zone 'UTC') + interval '8 hours')::date`)
    const rows = await queryRows<{ day: string; submitted: number; completed: number }>(
      this.database.db,
      sql`with days as (select d::date as day from generate_series(${q.from}::date, ${q.to}::date - 1, interval '1 day') d),
               s as (select ${cstDay('created_at')} as day, count(*)::int as n from cases
                      where processing_region is not null and created_at >= ${from} and created_at < ${to}${ofItems} group by 1),
               c as (select ${cstDay('completed_at')} as day, count(*)::int as n from cases
                      where processing_region is not null and completed_at >= ${from} and completed_at < ${to}${ofItems} group by 1)
          select to_char(days.day, 'YYYY-MM-DD') as day, coalesce(s.n, 0)::int as submitted, coalesce(c.n, 0)::int as completed
            from days left join s on s.day = days.day left join c on c.day = days.day
           order by days.day`,
    )
    return rows.map((r) => ({ day: r.day, submitted: Number(r.submitted), completed: Number(r.completed) }))
  }

  async gauges(): Promise<CaseGauges> {
    const [byStatus, overdue, materials, refused, deadLetters, deliveries] = await Promise.all([
      this.database.query<{ status: string; scope: string; mode: string; n: number }>(
        'select status, scope, mode, count(*)::int as n from cases group by 1, 2, 3 order by 1, 2, 3',
        [],
      ),
      this.database.query<{ n: number }>(`select count(*)::int as n from cases where ${openOverdue}`, []),
      this.database.query<{ n: number }>(
        `select count(*)::int as n from cases
          where supply_by is not null and materials_reported_for = supply_by and cardinality(outstanding_materials) > 0
            and status not in ('rejected', 'completed', 'result_delivered', 'closed', 'withdrawn', 'delivery_failed')`,
        [],
      ),
      // A result was refused and none accepted since (an accepted one completes the case).
      this.database.query<{ n: number }>(
        `select count(*)::int as n from cases c
          where c.status in ('accepted', 'in_review')
            and exists (select 1 from case_events e where e.case_id = c.id and e.type = 'recognition_failed')`,
        [],
      ),
      this.database.query<{ region: string; kind: string; n: number }>(
        'select region, kind, count(*)::int as n from dead_letters where redriven_at is null group by 1, 2 order by 1, 2',
        [],
      ),
      this.database.query<{ region: string; delivered: number; failed: number }>(
        `select processing_region as region,
                count(*) filter (where remote_ref is not null)::int as delivered,
                count(*) filter (where status = 'delivery_failed')::int as failed
           from cases where processing_region is not null group by 1 order by 1`,
        [],
      ),
    ])
    return {
      byStatus: byStatus.map((r) => ({ status: r.status, scope: r.scope, mode: r.mode, count: Number(r.n) })),
      overdueOpen: Number(overdue[0]?.n ?? 0),
      materialsOverdueOpen: Number(materials[0]?.n ?? 0),
      resultsRefusedOpen: Number(refused[0]?.n ?? 0),
      openDeadLetters: deadLetters.map((r) => ({ region: r.region, kind: r.kind, count: Number(r.n) })),
      deliveries: deliveries.map((r) => ({
        region: r.region,
        delivered: Number(r.delivered),
        failed: Number(r.failed),
      })),
    }
  }
}
