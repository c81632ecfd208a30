/**
 * Firing deadline timers. A timer is a `case.deadline` job delayed until its instant, and the same
 * instant in the case row; either path ends here. The gateway's clock decides, not Redis's: a job that
 * runs early is put back for the time left. The event goes through `recordGatewayEvent`, so it is
 * hash-chained, checked against the clock under the row lock (a finished case, a stopped clock or a moved
 * timer refuses it: the timer does nothing) and forwarded to the parties like any other event.
 *
 * - `warning` records `deadline_warning`; `overdue` records `overdue`, and first the warning if it has not
 *   been recorded yet (both instants passed together: a worker or Redis was down, or the two jobs raced),
 *   so that every overdue case was warned first.
 * - `materials` (容缺) records `materials_overdue` with the materials still outstanding once the supply
 *   date has passed; nothing if they were supplied or the case finished.
 */
import { overdueInstant, supplyInstant, type TimerKind } from '../../domain/deadline.js'
import type { EventType } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { EvaluationStore } from '../../ports/evaluation-store.js'
import type { CaseDeps, Ctx } from '../context.js'
import { recordGatewayEvent } from './gateway-events.js'
import { casesWithMaterialsOverdue, type OutstandingQuery } from './outstanding.js'

export type FireOutcome =
  | { kind: 'fired'; seq: number }
  | { kind: 'stale'; reason: string }
  /** Not yet by the gateway's clock: run again in `inMs`. */
  | { kind: 'early'; inMs: number }

/** Records a gateway event; a refusal under the lock (stale timer, finished case) is `stale`. */
async function record(
  deps: CaseDeps,
  caseId: string,
  type: EventType,
  data: Record<string, unknown>,
): Promise<FireOutcome> {
  try {
    return { kind: 'fired', seq: (await recordGatewayEvent(deps, caseId, type, data)).seq }
  } catch (error) {
    if (error instanceof AppError && (error.code === 'invalid_transition' || error.code === 'not_found')) {
      return { kind: 'stale', reason: error.message }
    }
    throw error
  }
}

async function fireMaterials(deps: CaseDeps, caseId: string, at: Date): Promise<FireOutcome> {
  // The list is read before the lock and checked under it: a supplement in between refuses the event,
  // and the next reading has the new list.
  for (let attempt = 0; ; attempt++) {
    const c = await deps.cases.get(caseId)
    if (c === null) return { kind: 'stale', reason: 'no such case' }
    if (c.supplyBy === null || c.outstandingMaterials.length === 0) {
      return { kind: 'stale', reason: 'no materials are outstanding' }
    }
    if (supplyInstant(c.supplyBy).getTime() !== at.getTime()) return { kind: 'stale', reason: 'the supply date moved' }
    const outcome = await record(deps, caseId, 'materials_overdue', {
      plannedAt: at.toISOString(),
      supplyBy: c.supplyBy,
      materials: c.outstandingMaterials,
    })
    if (outcome.kind === 'fired') {
      deps.logger.warn(
        { caseId, supplyBy: c.supplyBy, materials: c.outstandingMaterials, alert: 'materials_overdue' },
        'materials outstanding after their supply date',
      )
    }
    if (outcome.kind !== 'stale' || !outcome.reason.includes('materials changed') || attempt >= 3) return outcome
  }
}

/** Fires one case's timer at its planned instant (`early` when that instant has not come by the gateway's clock). */
export async function fireTimer(
  { deps }: Ctx<CaseDeps, null>,
  { caseId, kind, at }: { caseId: string; kind: TimerKind; at: Date },
): Promise<FireOutcome> {
  const inMs = at.getTime() - deps.clock.now().getTime()
  if (inMs > 0) return { kind: 'early', inMs }
  if (kind === 'materials') return fireMaterials(deps, caseId, at)
  const c = await deps.cases.get(caseId)
  if (c === null) return { kind: 'stale', reason: 'no such case' }
  const due = { dueDate: c.dueDate, dueAt: c.dueAt?.toISOString() ?? null }
  if (kind === 'overdue') {
    // Warned before late: when this overdue timer is the current one, a warning still planned is recorded
    // first (checked again under the lock; a stale overdue timer touches nothing).
    const clock = await deps.cases.clock(caseId)
    const current = clock.dueAt !== null && overdueInstant(clock.dueAt).getTime() === at.getTime()
    if (current && clock.runningSince !== null && clock.warnedAt === null && clock.warnAt !== null) {
      await record(deps, caseId, 'deadline_warning', { plannedAt: clock.warnAt.toISOString(), ...due })
    }
  }
  const outcome = await record(deps, caseId, kind === 'warning' ? 'deadline_warning' : 'overdue', {
    plannedAt: at.toISOString(),
    ...due,
  })
  if (kind === 'overdue' && outcome.kind === 'fired') {
    deps.logger.warn({ caseId, dueDate: c.dueDate, alert: 'overdue' }, 'case overdue')
  }
  return outcome
}

/** What the timer sweep reads: the case verbs' dependencies, the durable timers, and the 容缺 query. */
export interface SweepTimersDeps {
  cases: CaseDeps
  timers: Pick<EvaluationStore, 'dueTimers'>
  outstanding?: OutstandingQuery | undefined
}

/**
 * Fires every timer whose instant has passed by the gateway's clock, from the durable instants in
 * PostgreSQL: what a Redis that lost its delayed jobs did not fire, and the 容缺 supply dates passed and not
 * yet reported (`casesWithMaterialsOverdue`). Returns how many events it recorded.
 */
export async function sweepTimers(
  { deps: { cases: deps, timers, outstanding } }: Ctx<SweepTimersDeps, null>,
  { limit = 200 }: { limit?: number } = {},
) {
  let fired = 0
  for (const t of await timers.dueTimers(deps.clock.now(), limit)) {
    if ((await fireTimer({ caller: null, deps }, t)).kind === 'fired') fired += 1
  }
  if (outstanding) {
    for (const o of await casesWithMaterialsOverdue(outstanding, deps.clock.now(), limit, { unreported: true })) {
      if (
        (
          await fireTimer(
            { caller: null, deps },
            { caseId: o.caseId, kind: 'materials', at: supplyInstant(o.supplyBy) },
          )
        ).kind === 'fired'
      )
        fired += 1
    }
  }
  return fired
}
