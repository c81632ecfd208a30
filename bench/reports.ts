/**
 * Reports: the performance report (考评) over one million synthetic cases in a fresh PostgreSQL
 * database, against a plain `select count(*)` over the same table in the same run, read first from the case
 * rows and then from the stored months (migration 0035) once the `report-months` schedule's work is done. The
 * cases are generated in SQL (generate_series, in batches), spread over 2025 in the order they arrive (as the
 * gateway appends them: time-ordered ids, so the table is clustered by submission time), with the shapes of real traffic:
 * 16 processing regions, 12 origin regions, 40 windows, 10 departments, 30 items, 70 % completed
 * (15 % of them late), 5 % rejected, 3 % open and overdue (their clocks running since acceptance), half
 * rated. Each figure is the median of five runs after one warm-up; the database is dropped at the end.
 */
import { fileURLToPath } from 'node:url'
import { loadDirectory } from '../config/load.js'
import { WorkCalendar } from '../src/domain/calendar.js'
import { openDatabase } from '../src/store/db.js'
import { PgEvaluationStore } from '../src/store/evaluation-store.js'
import { migrate } from '../src/store/migrate.js'
import { PgCasePartitionStore } from '../src/store/partition-store.js'
import { adminUrl, sql } from './lib/gateway.js'

const total = Number(process.env.BENCH_REPORT_CASES ?? 1_000_000)
const batch = 50_000

/**
 * One batch of synthetic cases with UUIDv7 ids of their creation instants (so each lands in the partition of
 * its month, as the gateway's own would); every figure derives from a hash of n, so runs repeat.
 */
const insertBatch = `
with g as (
  select n, abs(hashint4(n)) as h, abs(hashint4(n + 7919)) as h2,
         timestamptz '2025-01-01 00:00+08' + (n - 1) * (interval '365 days' / $3::int)
           + (abs(hashint4(n * 31)) % 3600) * interval '1 second' as created
    from generate_series($1::int, $2::int) n
), g7 as (
  select g.*, lpad(to_hex(floor(extract(epoch from created) * 1000)::bigint), 12, '0') as h12 from g
)
insert into cases (id, created_by, created_by_kind, item, mode, scope, origin_region, processing_region, status,
  applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
  agent_window, form, materials, body_hash, receipt, created_at, updated_at, department, accepted_at,
  clock_budget_days, clock_running_since, completed_at, rejected_at, overdue_at, handling_days, on_time,
  supplement_rounds, rating, rated_at)
select substr(h12, 1, 8) || '-' || substr(h12, 9, 4) || '-7000-8000-' || lpad(to_hex(n), 12, '0'), 'bench', 'client', 'item-' || (h % 30),
  (array['full_online','online_transfer','offline_proxy','multi_site'])[1 + h % 4],
  (array['cross_province','province_wide','cross_city','within_city'])[1 + h2 % 4],
  '42' || lpad((h2 % 12)::text, 2, '0') || '00', '42' || lpad((h % 16)::text, 2, '0') || '01',
  case when h2 % 100 < 70 then 'completed' when h2 % 100 < 75 then 'rejected' else 'in_review' end,
  'person', '测试', 'resident_id', '\\x00'::bytea, '\\x00'::bytea, '420303********1234',
  case when h % 3 = 0 then null else 'W-' || (h2 % 40) end, '{}'::jsonb, '[]'::jsonb, 'x', 'x',
  created, created, 'dept-' || (h % 10), created + interval '1 hour', 5,
  case when h2 % 100 between 75 and 77 then created + interval '1 hour' end,
  case when h2 % 100 < 70 then created + ((h % 9) + 1) * interval '1 day' end,
  case when h2 % 100 between 70 and 74 then created + interval '2 days' end,
  case when h2 % 100 between 75 and 77 then created + interval '8 days' end,
  case when h2 % 100 < 70 then ((h % 700) / 100.0) + 0.5 end,
  case when h2 % 100 < 70 then h % 100 >= 15 end,
  (h / 7) % 3,
  case when h2 % 100 < 70 and h % 2 = 0 then 1 + (h / 11) % 5 end,
  case when h2 % 100 < 70 and h % 2 = 0 then created + ((h % 9) + 2) * interval '1 day' end
from g7`

async function median(f: () => Promise<unknown>, runs = 5): Promise<number> {
  await f()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await f()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(runs / 2)] ?? 0
}

export async function reportsBench(): Promise<void> {
  const db = `tbbench_reports_${process.pid}`
  await sql(adminUrl, `CREATE DATABASE ${db}`)
  const u = new URL(adminUrl)
  u.pathname = `/${db}`
  const database = await openDatabase({ url: u.toString(), dataDir: '' })
  try {
    await migrate(database)
    // The months of the data, as the `partitions` schedule would have made them ahead of time.
    await new PgCasePartitionStore(database).ensure('2025-01', '2025-12')
    // Loading a closed year would mark each of its months changed, row by row: the marks are not needed (no
    // month is computed yet), so the trigger is off while loading.
    await sql(u.toString(), 'ALTER TABLE cases DISABLE TRIGGER cases_report_months_on_insert')
    const loadStarted = performance.now()
    for (let from = 1; from <= total; from += batch) {
      await sql(u.toString(), insertBatch, [from, Math.min(total, from + batch - 1), total])
    }
    await sql(u.toString(), 'ALTER TABLE cases ENABLE TRIGGER cases_report_months_on_insert')
    // Outside the pool: its 30 s statement timeout is for the gateway, not for loading a million rows.
    await sql(u.toString(), 'vacuum analyze cases')
    const loadSeconds = (performance.now() - loadStarted) / 1000
    const [{ n } = { n: 0 }] = await database.query<{ n: number }>('select count(*)::int as n from cases', [])
    console.log(
      `loaded ${n.toLocaleString('en')} cases in ${loadSeconds.toFixed(1)} s (with every index of the schema)`,
    )

    const store = new PgEvaluationStore(database)
    const { directory } = await loadDirectory(fileURLToPath(new URL('../config/data', import.meta.url)))
    // The open overdue cases' clocks are counted until the end of the year of the data.
    const clocks = { now: new Date('2026-01-01T00:00:00+08:00'), calendar: new WorkCalendar(directory.calendars) }
    const baseline = await median(() => database.query('select count(*) from cases', []))
    const month = {
      from: new Date('2025-10-01T00:00:00+08:00'),
      to: new Date('2025-11-01T00:00:00+08:00'),
      ...clocks,
    }
    const year = { from: new Date('2025-01-01T00:00:00+08:00'), to: new Date('2026-01-01T00:00:00+08:00'), ...clocks }
    const reports = [
      ['report, one month, by region', { ...month, by: 'region' }],
      ['report, one month, by department', { ...month, by: 'department' }],
      ['report, one month, by window', { ...month, by: 'window' }],
      ['report, whole year, by region', { ...year, by: 'region' }],
      ['report, whole year, by item', { ...year, by: 'item' }],
    ] as const
    const fromRows: number[] = []
    const answers: unknown[] = []
    for (const [label, q] of reports) {
      fromRows.push(await median(() => store.performance(q)))
      answers.push(await store.performance(q))
      console.log(`${label}, from the case rows: ${fromRows.at(-1)?.toFixed(0)} ms`)
    }
    const started = performance.now()
    const done = await store.refreshMonths({ limit: 100 })
    const computeSeconds = (performance.now() - started) / 1000
    console.log(
      `computed the stored figures of ${done.computed.length} months in ${computeSeconds.toFixed(1)} s ` +
        `(${((computeSeconds * 1000) / Math.max(1, done.computed.length)).toFixed(0)} ms a month, once per month)`,
    )
    const fromMonths: number[] = []
    let same = true
    for (const [i, [label, q]] of reports.entries()) {
      fromMonths.push(await median(() => store.performance(q)))
      const again = await store.performance(q)
      for (const [j, row] of again.entries()) {
        const before = (answers[i] as typeof again)[j]
        for (const [field, value] of Object.entries(row)) {
          const was = before?.[field as keyof typeof row]
          if (was !== value) {
            same = false
            console.log(`differs: ${label}, ${row.key}, ${field}: ${was} from the case rows, ${value} from the months`)
          }
        }
      }
      console.log(`${label}, from the stored months: ${fromMonths.at(-1)?.toFixed(0)} ms`)
    }
    console.log(`the same answers from the stored months as from the case rows: ${same ? 'yes' : 'NO'}`)
    console.log(
      `\n| query | from the case rows, ms | ratio | from the stored months, ms | ratio |\n|---|---|---|---|---|` +
        `\n| select count(*) from cases (baseline) | ${baseline.toFixed(0)} | 1 | | |`,
    )
    for (const [i, [label]] of reports.entries()) {
      const [rows, months] = [fromRows[i] ?? 0, fromMonths[i] ?? 0]
      console.log(
        `| ${label} | ${rows.toFixed(0)} | ${(rows / baseline).toFixed(1)} | ${months.toFixed(0)} | ${(months / baseline).toFixed(1)} |`,
      )
    }
    console.log(
      JSON.stringify({
        countMs: Math.round(baseline),
        monthRatio: Math.round((Math.max(...fromMonths.slice(0, 3)) / baseline) * 10) / 10,
        yearRatio: Math.round((Math.max(...fromMonths.slice(3)) / baseline) * 10) / 10,
        monthComputeMs: Math.round((computeSeconds * 1000) / Math.max(1, done.computed.length)),
        sameAnswers: same,
      }),
    )
    if (!same) process.exitCode = 1
  } finally {
    await database.close()
    if (process.env.BENCH_REPORT_KEEP === '1') console.log(`kept database ${db} (BENCH_REPORT_KEEP=1)`)
    else await sql(adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
  }
}
