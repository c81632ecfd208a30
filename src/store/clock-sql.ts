/**
 * The deadline clock columns of a case row (migration 0006), read and written inside a case transaction
 * (`PgCaseTx.loadClock` / `saveClock`).
 */
import { sql } from 'drizzle-orm'
import { type DeadlineClock, emptyClock } from '../domain/deadline.js'
import { type Db, queryRows } from './db.js'

export interface ClockRow extends Record<string, unknown> {
  accepted_at: string | Date | null
  clock_budget_days: number | null
  clock_used_days: number
  clock_running_since: string | Date | null
  warn_percent: number
  warn_at: string | Date | null
  due_date: string | Date | null
  due_at: string | Date | null
  warned_at: string | Date | null
  overdue_at: string | Date | null
  completed_at: string | Date | null
  rejected_at: string | Date | null
  handling_days: number | null
  on_time: boolean | null
  supplement_rounds: number
  rating: number | null
  rating_comment: string | null
  rated_at: string | Date | null
  materials_reported_for: string | null
}

const date = (v: string | Date | null): Date | null => (v === null ? null : new Date(v))
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString())

function dueDateOf(v: string | Date | null): string | null {
  if (v === null) return null
  // node-postgres parses a `date` as a local-midnight Date; PGlite as a string.
  if (typeof v === 'string') return v.slice(0, 10)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${v.getFullYear()}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`
}

/**
 * The clock columns of a case row as one JSON object (`alias` names the cases table): for a statement that
 * reads the clock beside other things (the group commit of events, `event-batch.ts`). Read it with `clockOf`.
 */
export function clockJson(alias: string): string {
  const a = alias
  return `json_build_object('accepted_at', ${a}.accepted_at, 'clock_budget_days', ${a}.clock_budget_days,
    'clock_used_days', ${a}.clock_used_days, 'clock_running_since', ${a}.clock_running_since,
    'warn_percent', ${a}.warn_percent, 'warn_at', ${a}.warn_at, 'due_date', ${a}.due_date::text, 'due_at', ${a}.due_at,
    'warned_at', ${a}.warned_at, 'overdue_at', ${a}.overdue_at, 'completed_at', ${a}.completed_at,
    'rejected_at', ${a}.rejected_at, 'handling_days', ${a}.handling_days, 'on_time', ${a}.on_time,
    'supplement_rounds', ${a}.supplement_rounds, 'rating', ${a}.rating, 'rating_comment', ${a}.rating_comment,
    'rated_at', ${a}.rated_at, 'materials_reported_for', ${a}.materials_reported_for::text)`
}

export async function loadClock(db: Db, caseId: string): Promise<DeadlineClock> {
  const [r] = await queryRows<ClockRow>(
    db,
    sql`select accepted_at, clock_budget_days, clock_used_days, clock_running_since, warn_percent, warn_at,
               due_date::text as due_date, due_at, warned_at, overdue_at, completed_at, rejected_at, handling_days,
               on_time, supplement_rounds, rating, rating_comment, rated_at,
               materials_reported_for::text as materials_reported_for
          from cases where id = ${caseId}`,
  )
  return r === undefined ? emptyClock() : clockOf(r)
}

/** The clock of a row of clock columns (as `loadClock` selects them, or the object of `clockJson`). */
export function clockOf(r: ClockRow): DeadlineClock {
  return {
    acceptedAt: date(r.accepted_at),
    budgetDays: r.clock_budget_days === null ? null : Number(r.clock_budget_days),
    usedDays: Number(r.clock_used_days),
    runningSince: date(r.clock_running_since),
    warnPercent: Number(r.warn_percent),
    warnAt: date(r.warn_at),
    dueDate: dueDateOf(r.due_date),
    dueAt: date(r.due_at),
    warnedAt: date(r.warned_at),
    overdueAt: date(r.overdue_at),
    completedAt: date(r.completed_at),
    rejectedAt: date(r.rejected_at),
    handlingDays: r.handling_days === null ? null : Number(r.handling_days),
    onTime: r.on_time,
    supplementRounds: Number(r.supplement_rounds),
    rating: r.rating === null ? null : Number(r.rating),
    ratingComment: r.rating_comment,
    ratedAt: date(r.rated_at),
    materialsReportedFor: r.materials_reported_for,
  }
}

export async function saveClock(db: Db, caseId: string, c: DeadlineClock): Promise<void> {
  await db.execute(
    sql`update cases set
          accepted_at = ${iso(c.acceptedAt)}, clock_budget_days = ${c.budgetDays}, clock_used_days = ${c.usedDays},
          clock_running_since = ${iso(c.runningSince)}, warn_percent = ${c.warnPercent}, warn_at = ${iso(c.warnAt)},
          due_date = ${c.dueDate}, due_at = ${iso(c.dueAt)}, warned_at = ${iso(c.warnedAt)},
          overdue_at = ${iso(c.overdueAt)}, completed_at = ${iso(c.completedAt)}, rejected_at = ${iso(c.rejectedAt)},
          handling_days = ${c.handlingDays}, on_time = ${c.onTime}, supplement_rounds = ${c.supplementRounds},
          rating = ${c.rating}, rating_comment = ${c.ratingComment}, rated_at = ${iso(c.ratedAt)},
          materials_reported_for = ${c.materialsReportedFor}
        where id = ${caseId}`,
  )
}
