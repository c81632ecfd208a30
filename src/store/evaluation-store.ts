/**
 * The evaluation queries (考评): the performance report, the timers due, and the figures of `/metrics`.
 * One SQL statement each over the case row's own columns (migration 0006 keeps them there: acceptance,
 * completion, working-day handling time, rating, department), so a report over a million cases is one
 * scan with no joins.
 */

import { type SQL, sql } from 'drizzle-orm'
import type { WorkCalendar } from '../domain/calendar.js'
import type {
  CaseGauges,
  DueTimer,
  EvaluationStore,
  PerformanceRow,
  ReportDimension,
  VolumeDay,
} from '../ports/evaluation-store.js'
import { type Database, queryRows } from './db.js'

/** The grouping column of each dimension (a fixed list: nothing from the request reaches the SQL text). */
const keyColumn: Record<ReportDimension, string> = {
  region: 'processing_region',
  department: 'department',
  item: 'item',
  scope: 'scope',
  mode: 'mode',
  window: 'agent_window',
}

const inPeriod = (col: string) => `(${col} >= $1 and ${col} < $2)`
const openOverdue = `(overdue_at is not null and completed_at is null and rejected_at is null and status <> 'withdrawn')`
/** Open overdue cases with a time limit on their clock: those `avgDaysOverdueNow` averages. */
const openOverdueClock = `(${openOverdue} and clock_budget_days is not null)`
/** Collected at a window in one region for processing in another (代收 / 被代收). */
const collected = `(${inPeriod('created_at')} and agent_window is not null and origin_region <> processing_region)`

const figures = /* sql */ `
  count(*) filter (where ${inPeriod('created_at')})::int as volume,
  count(*) filter (where ${inPeriod('completed_at')})::int as completed,
  count(*) filter (where ${inPeriod('completed_at')} and on_time)::int as on_time,
  count(*) filter (where ${inPeriod('completed_at')} and on_time is not null)::int as timed,
  count(*) filter (where ${inPeriod('completed_at')} and not on_time)::int as late,
  avg(handling_days - clock_budget_days) filter (where ${inPeriod('completed_at')} and not on_time) as avg_days_late,
  avg(handling_days) filter (where ${inPeriod('completed_at')}) as avg_days,
  percentile_cont(0.9) within group (order by handling_days) filter (where ${inPeriod('completed_at')}) as p90_days,
  count(*) filter (where ${openOverdue})::int as overdue_now,
  count(*) filter (where ${inPeriod('overdue_at')})::int as went_overdue,
  count(*) filter (where ${openOverdueClock})::int as overdue_clocked,
  sum(clock_used_days - clock_budget_days) filter (where ${openOverdueClock}) as overdue_used_beyond,
  count(*) filter (where ${inPeriod('rejected_at')})::int as rejections,
  coalesce(sum(supplement_rounds) filter (where ${inPeriod('created_at')}), 0)::int as supplement_rounds,
  count(rating) filter (where ${inPeriod('rated_at')})::int as own_ratings,
  sum(rating) filter (where ${inPeriod('rated_at')}) as own_rating_sum`

/**
 * Ratings of bundles given in the period, per group. A bundle (thing, multi-site) is rated once, on its
 * parent; the children are the cases handled, so the parent's score counts for its children's groups, once
 * per group however many of its children the group holds (a child rated on its own counts as itself, in
 * `figures`). Parents are few: this reads the parents rated in the period and their children by index.
 */
const bundleRatings = (key: string, region?: string) => {
  const cols = region === undefined ? 'key' : 'key, region'
  return `r as (
  select ${cols}, count(*)::int as n, sum(rating) as s
    from (select distinct c.${key} as key,${region === undefined ? '' : ` c.${region} as region,`} p.id, p.rating
            from cases p join cases c on c.parent_id = p.id
           where p.processing_region is null and p.rating is not null and c.rating is null
             and ${inPeriod('p.rated_at')}) given
   group by ${cols})`
}

/**
 * The running clocks of the open overdue cases, per group and CST day of `clock_running_since`: how many,
 * and their milliseconds into that day. Enough to add up, exactly and over the working-day calendar, the
 * working time they have run until now (`runningDays`) without a row per case. Read through the partial
 * index of the open overdue cases (0006).
 */
const runningClocks = (key: string, region?: string) => {
  const cols = region === undefined ? 'key' : 'key, region'
  return `d as (
  select ${cols}, jsonb_agg(jsonb_build_array(day, n, into_day_ms)) as running
    from (select ${cols}, day, count(*)::int as n, sum(ms - day * 86400000::numeric)::float8 as into_day_ms
            from (select ${key} as key,${region === undefined ? '' : ` ${region} as region,`} ms, floor(ms / 86400000)::int as day
                    from cases, lateral (select extract(epoch from clock_running_since) * 1000 + 28800000 as ms) m
                   where processing_region is not null and ${openOverdueClock} and clock_running_since is not null) c
           group by ${cols}, day) b
   group by ${cols})`
}

/** A group's ratings: its cases' own, and the bundles' (`f` the figures, `r` the bundle ratings). */
const ratingColumns = `coalesce(f.own_ratings, 0) + coalesce(r.n, 0) as ratings,
  (coalesce(f.own_rating_sum, 0) + coalesce(r.s, 0))::float8 / nullif(coalesce(f.own_ratings, 0) + coalesce(r.n, 0), 0)
    as avg_rating`
/** Groups match on their key, null included (e.g. an item without a department). */
const sameKey = (a: string, b: string) => `coalesce(${a}, '') = coalesce(${b}, '')`

/** Cases that count for anything in the period; each branch has its index. */
const relevant = `processing_region is not null and (${inPeriod('created_at')} or ${inPeriod('completed_at')}
  or ${inPeriod('rejected_at')} or ${inPeriod('rated_at')} or ${inPeriod('overdue_at')} or ${openOverdue})`

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
  p90_days: number | string | null
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
export function runningDays(buckets: readonly [number, number, number][], calendar: WorkCalendar, now: Date): number {
  const at = now.getTime()
  const start = (day: number) => day * DAY_MS - CST_OFFSET_MS
  const days = [...new Set(buckets.map(([day]) => day))].filter((day) => start(day + 1) < at).sort((a, b) => b - a)
  const fromEnd = new Map<number, number>()
  let acc = 0
  let until = at
  for (const day of days) {
    acc += calendar.workingDaysBetween(new Date(start(day + 1)), new Date(until))
    fromEnd.set(day, acc)
    until = start(day + 1)
  }
  let total = 0
  for (const [day, n, intoDay] of buckets) {
    if (calendar.isWorkingDay(new Date(day * DAY_MS).toISOString().slice(0, 10))) {
      const upTo = Math.min(at, start(day + 1)) - start(day)
      total += Math.max(0, n * upTo - Number(intoDay)) / DAY_MS
    }
    total += n * (fromEnd.get(day) ?? 0)
  }
  return total
}

function toRow(r: FigureRow, collecting: boolean, windows: boolean, calendar: WorkCalendar, now: Date): PerformanceRow {
  const clocked = Number(r.overdue_clocked ?? 0)
  const beyond = clocked > 0 ? Number(r.overdue_used_beyond ?? 0) + runningDays(r.running ?? [], calendar, now) : 0
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
    p90HandlingDays: num(r.p90_days),
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

/** The statement of `performance` (`$1` from, `$2` to): exported for EXPLAIN in the benchmark. */
export function reportSql(by: ReportDimension): string {
  if (by === 'region') {
    // A processing region's figures, beside what its windows collected for others (keyed by origin).
    return `with f as (select processing_region as key, ${figures},
                              count(*) filter (where ${collected})::int as collected_by_others
                         from cases where ${relevant} group by 1),
                 o as (select origin_region as key, count(*)::int as collected_for_others
                         from cases where processing_region is not null and ${collected} group by 1),
                 ${bundleRatings('processing_region')},
                 ${runningClocks('processing_region')}
            select f.*, coalesce(o.collected_for_others, 0) as collected_for_others, d.running,
                   ${ratingColumns}, coalesce(f.key, o.key, r.key) as key
              from f left join d on d.key = f.key
                     full join o on o.key = f.key full join r on r.key = coalesce(f.key, o.key)
             order by coalesce(f.key, o.key, r.key)`
  }
  if (by === 'window') {
    // A window is its region (where its cases start) and its id: two regions may name windows alike.
    // 被代收: what other regions' windows collected for the window's region.
    return `with f as (select agent_window as key, origin_region as region, ${figures},
                              count(*) filter (where ${collected})::int as collected_for_others
                         from cases where agent_window is not null and ${relevant} group by 1, 2),
                 b as (select processing_region as region, count(*)::int as n
                         from cases where processing_region is not null and ${collected} group by 1),
                 ${bundleRatings('agent_window', 'origin_region')},
                 ${runningClocks('agent_window', 'origin_region')}
            select f.*, coalesce(b.n, 0) as collected_by_others, d.running,
                   ${ratingColumns}, coalesce(f.key, r.key) as key, coalesce(f.region, r.region) as region
              from f left join d on d.key = f.key and d.region = f.region
                     full join r on r.key = f.key and r.region = f.region
                     left join b on b.region = coalesce(f.region, r.region)
             where coalesce(f.key, r.key) is not null
             order by coalesce(f.key, r.key), coalesce(f.region, r.region)`
  }
  return `with f as (select ${keyColumn[by]} as key, ${figures} from cases where ${relevant} group by 1),
               ${bundleRatings(keyColumn[by])},
               ${runningClocks(keyColumn[by])}
          select f.*, d.running, ${ratingColumns}, coalesce(f.key, r.key) as key
            from f left join d on d.key is not distinct from f.key
                   full join r on ${sameKey('f.key', 'r.key')}
           order by coalesce(f.key, r.key)`
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
    const params: Record<string, SQL> = { $1: sql`${q.from.toISOString()}`, $2: sql`${q.to.toISOString()}` }
    const query = sql.join(
      reportSql(q.by)
        .split(/(\$[12])/)
        .map((part) => params[part] ?? sql.raw(part)),
    )
    const rows = await this.database.transaction(async (tx) => {
      // One aggregate scan: JIT compilation would cost more than it saves (about 1.5 s measured on a
      // million cases), and the per-group sorts of the percentile fit in memory.
      await tx.db.execute(sql`set local jit = off`)
      await tx.db.execute(sql`set local work_mem = '64MB'`)
      return queryRows<FigureRow>(tx.db, query)
    })
    return rows.map((r) => toRow(r, q.by === 'region' || q.by === 'window', q.by === 'window', q.calendar, q.now))
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
