/**
 * The deadline clock of a case (考评), pure: how each event moves it, and which timers it plans.
 *
 * The clock counts working time (working days over the calendar, fractions allowed). It starts when
 * the case is `accepted`, with the due date of the case's time limit; it stops while the case is
 * `suspended`, while a supplement request is open (when the item's `clockStopsOnSupplement` says so)
 * and for good in a final status. On a restart the time left is laid over the calendar again, so the
 * due date moves by the working time the clock stood still (rounded up to the end of that day).
 * Two timers are planned while it runs: the warning at `warnPercent` % of the time and the overdue
 * instant; each fires once. A third, apart from the clock: a 容缺 acceptance plans `materials` at the end
 * of its supply date, which reports the materials still outstanding then, once per supply date.
 */
import type { TimeLimit } from '../../config/schema.js'
import { cstDate, type WorkCalendar } from './calendar.js'
import { type CaseStatus, type EventType, isFinal } from './lifecycle.js'

/** The clock as stored in the case row (migration 0006). */
export interface DeadlineClock {
  acceptedAt: Date | null
  /** The whole time limit in working days, fixed at acceptance. */
  budgetDays: number | null
  /** Working days used by the periods the clock ran before `runningSince`. */
  usedDays: number
  /** Start of the current running period; null while the clock stands still. */
  runningSince: Date | null
  warnPercent: number
  /** When the warning is planned (null once it fired, or while nothing is planned). */
  warnAt: Date | null
  dueDate: string | null
  /** The overdue instant: the last millisecond of the due date in CST. */
  dueAt: Date | null
  warnedAt: Date | null
  overdueAt: Date | null
  completedAt: Date | null
  rejectedAt: Date | null
  /** Working days the case took (the clock's time, so without suspensions), set when it completes. */
  handlingDays: number | null
  onTime: boolean | null
  supplementRounds: number
  rating: number | null
  ratingComment: string | null
  ratedAt: Date | null
  /** The supply date (容缺) whose passing was reported by `materials_overdue`, so it is reported once. */
  materialsReportedFor: string | null
}

export type TimerKind = 'warning' | 'overdue' | 'materials'

export interface PlannedTimer {
  kind: TimerKind
  at: Date
}

export interface ClockRules {
  calendar: WorkCalendar
  /** The case's time limit (agreement's, else the item's promised one); null: no clock. */
  timeLimit: TimeLimit | null
  /** The agreement's `warnAtPercent` (default 80). */
  warnPercent: number
  /** The item's `clockStopsOnSupplement` (default true). */
  stopsOnSupplement: boolean
}

export interface ClockEvent {
  type: EventType
  data: Record<string, unknown>
  /** Status and suspension flag after the event (lifecycle `applyEvent`). */
  status: CaseStatus
  suspended: boolean
  /** 容缺: what the case (as locked, before the event) still has outstanding, and by when. */
  outstanding?: { materials: readonly string[]; supplyBy: string | null }
}

export type ClockStep = { ok: true; clock: DeadlineClock; timers: PlannedTimer[] } | { ok: false; reason: string }

export const emptyClock = (): DeadlineClock => ({
  acceptedAt: null,
  budgetDays: null,
  usedDays: 0,
  runningSince: null,
  warnPercent: 80,
  warnAt: null,
  dueDate: null,
  dueAt: null,
  warnedAt: null,
  overdueAt: null,
  completedAt: null,
  rejectedAt: null,
  handlingDays: null,
  onTime: null,
  supplementRounds: 0,
  rating: null,
  ratingComment: null,
  ratedAt: null,
  materialsReportedFor: null,
})

/** Working days used so far, the running period included. */
export function usedDays(clock: DeadlineClock, calendar: WorkCalendar, now: Date): number {
  const running = clock.runningSince === null ? 0 : calendar.workingDaysBetween(clock.runningSince, now)
  return clock.usedDays + Math.max(0, running)
}

function shouldRun(clock: DeadlineClock, e: ClockEvent, rules: ClockRules): boolean {
  if (clock.acceptedAt === null || clock.budgetDays === null) return false
  if (isFinal(e.status) || e.suspended) return false
  return !(e.status === 'supplement_requested' && rules.stopsOnSupplement)
}

/** A case is overdue once its due date has passed: the millisecond after `dueAt`. */
export function overdueInstant(dueAt: Date): Date {
  return new Date(dueAt.getTime() + 1)
}

/** When a supply date (CST) has passed: midnight at its end, the first instant of the next day. */
export function supplyInstant(supplyBy: string): Date {
  return new Date(new Date(`${supplyBy}T00:00:00+08:00`).getTime() + 86_400_000)
}

const sameList = (a: readonly string[], b: unknown) =>
  Array.isArray(b) && a.length === b.length && [...a].sort().join('\n') === [...b].map(String).sort().join('\n')

/**
 * `materials_overdue` (data `{ supplyBy, materials }`) is recorded once per supply date, only after it
 * passed, and only with the list of materials outstanding under the lock (else the timer re-reads).
 */
function stepMaterials(clock: DeadlineClock, e: ClockEvent, now: Date): ClockStep {
  const supplyBy = e.outstanding?.supplyBy ?? null
  const materials = e.outstanding?.materials ?? []
  if (supplyBy === null || materials.length === 0) return { ok: false, reason: 'no materials are outstanding' }
  if (e.data.supplyBy !== supplyBy) return { ok: false, reason: 'the supply date was moved' }
  if (clock.materialsReportedFor === supplyBy) return { ok: false, reason: 'materials_overdue was already recorded' }
  if (now < supplyInstant(supplyBy)) return { ok: false, reason: 'the supply date has not passed' }
  if (!sameList(materials, e.data.materials)) return { ok: false, reason: 'the outstanding materials changed' }
  return { ok: true, clock: { ...clock, materialsReportedFor: supplyBy }, timers: [] }
}

/** The last millisecond of the CST day in which `instant` falls (an exact midnight belongs to the day before). */
function endOfDay(instant: Date): { dueDate: string; dueAt: Date } {
  const dueDate = cstDate(new Date(instant.getTime() - 1))
  return { dueDate, dueAt: new Date(`${dueDate}T23:59:59.999+08:00`) }
}

/** (Re)starts the clock at `now`: plans what has not fired yet from the time left. */
function start(clock: DeadlineClock, rules: ClockRules, now: Date, fresh: boolean): DeadlineClock {
  const budget = clock.budgetDays ?? 0
  const next: DeadlineClock = { ...clock, runningSince: now }
  if (!fresh && clock.overdueAt === null) {
    const left = budget - clock.usedDays
    // Nothing left: overdue now (the old due date already passed), else the due date moves.
    if (left > 0) Object.assign(next, endOfDay(rules.calendar.addWorkingTime(now, left)))
  }
  next.warnAt =
    clock.warnedAt === null && clock.overdueAt === null
      ? rules.calendar.addWorkingTime(now, (budget * clock.warnPercent) / 100 - clock.usedDays)
      : null
  return next
}

function timersOf(clock: DeadlineClock, now: Date): PlannedTimer[] {
  if (clock.runningSince === null) return []
  const timers: PlannedTimer[] = []
  if (clock.warnAt !== null) timers.push({ kind: 'warning', at: clock.warnAt })
  if (clock.overdueAt === null && clock.dueAt !== null) {
    const at = overdueInstant(clock.dueAt)
    timers.push({ kind: 'overdue', at: at < now ? now : at })
  }
  return timers
}

/**
 * How one event, already allowed by the lifecycle, moves the clock at `now`; the timers to (re)plan.
 * The gateway's own `deadline_warning` and `overdue` carry `data.plannedAt` (ISO) and are refused when
 * they no longer match the clock: stopped, moved, or already fired (a stale timer does nothing).
 *
 * @example
 * stepClock(emptyClock(), { type: 'accepted', data: {}, status: 'accepted', suspended: false }, rules, now)
 * // { ok: true, clock: { acceptedAt: now, dueAt: …, warnAt: …, … }, timers: [{ kind: 'warning', … }, { kind: 'overdue', … }] }
 */
export function stepClock(clock: DeadlineClock, e: ClockEvent, rules: ClockRules, now: Date): ClockStep {
  let next: DeadlineClock = { ...clock }
  const wasRunning = clock.runningSince !== null
  if (e.type === 'materials_overdue') return stepMaterials(clock, e, now)

  if (e.type === 'deadline_warning' || e.type === 'overdue') {
    const planned = e.type === 'deadline_warning' ? clock.warnAt : clock.dueAt && overdueInstant(clock.dueAt)
    const done = e.type === 'deadline_warning' ? clock.warnedAt : clock.overdueAt
    const plannedAt = typeof e.data.plannedAt === 'string' ? Date.parse(e.data.plannedAt) : Number.NaN
    if (!wasRunning) return { ok: false, reason: 'the deadline clock is not running' }
    if (done !== null) return { ok: false, reason: `${e.type} was already recorded` }
    if (planned === null || planned.getTime() !== plannedAt) return { ok: false, reason: 'the timer was moved' }
    if (e.type === 'deadline_warning') return { ok: true, clock: { ...next, warnedAt: now, warnAt: null }, timers: [] }
    return { ok: true, clock: { ...next, overdueAt: now, warnAt: null }, timers: [] }
  }

  let fresh = false
  if (e.type === 'accepted' && clock.acceptedAt === null) {
    next.acceptedAt = now
    if (rules.timeLimit !== null) {
      const due = rules.calendar.dueDate(now, rules.timeLimit)
      next = {
        ...next,
        dueDate: due.dueDate,
        dueAt: due.dueAt,
        budgetDays: rules.calendar.workingDaysBetween(now, overdueInstant(due.dueAt)),
        usedDays: 0,
        warnPercent: rules.warnPercent,
      }
      fresh = true
    }
  }
  if (e.type === 'supplement_requested') next.supplementRounds += 1
  if (e.type === 'rejected') next.rejectedAt = now
  if (e.type === 'rated') {
    next.rating = typeof e.data.score === 'number' ? e.data.score : null
    next.ratingComment = typeof e.data.comment === 'string' ? e.data.comment : null
    next.ratedAt = now
  }
  if (e.type === 'completed') {
    next.completedAt = now
    if (next.acceptedAt !== null) {
      next.handlingDays = usedDays(next, rules.calendar, now)
      const late = next.overdueAt !== null || (wasRunning && next.dueAt !== null && now > next.dueAt)
      next.onTime = next.budgetDays === null ? null : !late
    }
  }

  const run = shouldRun(next, e, rules)
  if (wasRunning && !run) {
    next.usedDays = usedDays(next, rules.calendar, now)
    next.runningSince = null
    next.warnAt = null
  } else if (!wasRunning && run) {
    next = start(next, rules, now, fresh)
  }
  const timers = !wasRunning && run ? timersOf(next, now) : []
  // 容缺: the supply date passes whatever the clock does (a date given to the applicant).
  if (e.type === 'accepted' && typeof e.data.supplyBy === 'string' && Array.isArray(e.data.outstanding)) {
    timers.push({ kind: 'materials', at: supplyInstant(e.data.supplyBy) })
  }
  return { ok: true, clock: next, timers }
}
