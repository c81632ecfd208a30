/**
 * Firing deadline timers (#7). A timer is a `case.deadline` job delayed until its instant, and the same
 * instant in the case row; either path ends here. The gateway's clock decides, not Redis's: a job that
 * runs early is put back for the time left. The event goes through `recordGatewayEvent`, so it is
 * hash-chained, checked against the clock under the row lock (a finished case, a stopped clock or a moved
 * timer refuses it: the timer does nothing) and forwarded to the parties like any other event.
 */
import type { TimerKind } from '../../domain/deadline.js'
import { AppError } from '../../errors.js'
import type { EvaluationStore } from '../../ports/evaluation-store.js'
import type { CaseDeps } from '../context.js'
import { recordGatewayEvent } from './gateway-events.js'

export type FireOutcome =
  | { kind: 'fired'; seq: number }
  | { kind: 'stale'; reason: string }
  /** Not yet by the gateway's clock: run again in `inMs`. */
  | { kind: 'early'; inMs: number }

export async function fireTimer(deps: CaseDeps, caseId: string, kind: TimerKind, at: Date): Promise<FireOutcome> {
  const inMs = at.getTime() - deps.clock.now().getTime()
  if (inMs > 0) return { kind: 'early', inMs }
  const c = await deps.cases.get(caseId)
  if (c === null) return { kind: 'stale', reason: 'no such case' }
  const type = kind === 'warning' ? 'deadline_warning' : 'overdue'
  try {
    const event = await recordGatewayEvent(deps, caseId, type, {
      plannedAt: at.toISOString(),
      dueDate: c.dueDate,
      dueAt: c.dueAt?.toISOString() ?? null,
    })
    if (kind === 'overdue') deps.logger.warn({ caseId, dueDate: c.dueDate, alert: 'overdue' }, 'case overdue')
    return { kind: 'fired', seq: event.seq }
  } catch (error) {
    if (error instanceof AppError && (error.code === 'invalid_transition' || error.code === 'not_found')) {
      return { kind: 'stale', reason: error.message }
    }
    throw error
  }
}

/**
 * Fires every timer whose instant has passed by the gateway's clock, from the durable instants in
 * PostgreSQL: what a Redis that lost its delayed jobs did not fire. Returns how many events it recorded.
 */
export async function sweepTimers(deps: CaseDeps, store: Pick<EvaluationStore, 'dueTimers'>, limit = 200) {
  let fired = 0
  for (const t of await store.dueTimers(deps.clock.now(), limit)) {
    if ((await fireTimer(deps, t.caseId, t.kind, t.at)).kind === 'fired') fired += 1
  }
  return fired
}
