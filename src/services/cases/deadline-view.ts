/**
 * The deadline clock on `GET /v1/cases/{id}`: where the case stands against its time limit now.
 * Kept beside `getCase` (untouched), so that only the one-case answer reads the clock, not the lists.
 */
import { isParentCase } from '../../domain/bundle.js'
import type { WorkCalendar } from '../../domain/calendar.js'
import { type DeadlineClock, usedDays } from '../../domain/deadline.js'
import { type CaseStatus, isFinal } from '../../domain/lifecycle.js'
import type { VerbContext } from '../context.js'
import { getCase } from './read.js'
import type { CaseDeadline, CaseView } from './schemas.js'

const round = (n: number) => Math.round(n * 1000) / 1000
const iso = (d: Date | null) => d?.toISOString() ?? null

/** The clock of a case at `now`; null until it started with a time limit. */
export function toDeadlineView(
  clock: DeadlineClock,
  status: CaseStatus,
  calendar: WorkCalendar,
  now: Date,
): CaseDeadline | null {
  if (clock.acceptedAt === null || clock.budgetDays === null) return null
  const finished = isFinal(status) || clock.completedAt !== null || clock.rejectedAt !== null
  const state = finished ? 'finished' : clock.runningSince !== null ? 'running' : 'stopped'
  const used = clock.handlingDays ?? usedDays(clock, calendar, now)
  const late =
    clock.overdueAt !== null ||
    (finished ? clock.onTime === false : state === 'running' && clock.dueAt !== null && now > clock.dueAt)
  return {
    state,
    acceptedAt: clock.acceptedAt.toISOString(),
    dueDate: clock.dueDate,
    dueAt: iso(clock.dueAt),
    warnPercent: clock.warnPercent,
    warnAt: iso(clock.warnAt),
    warnedAt: iso(clock.warnedAt),
    overdueAt: iso(clock.overdueAt),
    budgetDays: round(clock.budgetDays),
    usedDays: round(used),
    leftDays: round(clock.budgetDays - used),
    overdue: late,
    handlingDays: clock.handlingDays === null ? null : round(clock.handlingDays),
    onTime: clock.onTime,
  }
}

/** `getCase` (same visibility rules) with its `deadline`; a parent has none (its children hold the clocks). */
export async function getCaseWithDeadline(ctx: VerbContext, id: string): Promise<CaseView> {
  const view = await getCase(ctx, id)
  if (isParentCase(view)) return { ...view, deadline: null }
  const [clock, snap] = await Promise.all([ctx.deps.cases.clock(view.id), ctx.deps.directory.snapshot()])
  return { ...view, deadline: toDeadlineView(clock, view.status, snap.calendar, ctx.deps.clock.now()) }
}
