/**
 * The deadline clock's part of `appendCaseEvent`: under the case's row lock, in the event's transaction,
 * moves the clock (domain/deadline.ts), stores it, and adds an outbox row per timer to plan, so the
 * timers commit or roll back with the event. A stale `deadline_warning` / `overdue` /
 * `materials_overdue` is refused here.
 */
import { type ClockRules, type DeadlineClock, stepClock, type TimerKind } from '../../domain/deadline.js'
import type { EventType, LifecycleState } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { CaseRecord, CaseTx } from '../../ports/case-store.js'
import type { DirectorySnapshot } from '../directory/snapshot.js'

/** The job that fires a timer: `case.deadline`, job id `<caseId>-<kind>-<epoch ms>` (a moved timer is a new job). */
export function timerJob(caseId: string, kind: TimerKind, at: Date) {
  return {
    topic: 'case.deadline',
    key: `${caseId}-${kind}-${at.getTime()}`,
    payload: { caseId, kind, at: at.toISOString() },
  }
}

export function clockRules(snapshot: DirectorySnapshot, c: CaseRecord): ClockRules {
  const agreement = c.agreement === null ? undefined : snapshot.agreements.get(c.agreement.id)
  const item = c.item === null ? undefined : snapshot.items.get(c.item)
  return {
    calendar: snapshot.calendar,
    timeLimit: c.timeLimit,
    warnPercent: agreement?.warnAtPercent ?? 80,
    stopsOnSupplement: item?.clockStopsOnSupplement ?? true,
  }
}

/**
 * What an event does to a case's clock, without I/O: the clock after it (null when it stays as it is) and the
 * timer jobs to plan.
 * @throws AppError `invalid_transition` for a deadline event that no longer matches the clock.
 */
export function planClock(
  clock: DeadlineClock,
  current: CaseRecord,
  event: { type: EventType; data: Record<string, unknown> },
  next: LifecycleState,
  snapshot: DirectorySnapshot,
  now: Date,
): { clock: DeadlineClock | null; timers: ReturnType<typeof timerJob>[] } {
  const step = stepClock(
    clock,
    {
      type: event.type,
      data: event.data,
      status: next.status,
      suspended: next.suspended,
      outstanding: { materials: current.outstandingMaterials, supplyBy: current.supplyBy },
    },
    clockRules(snapshot, current),
    now,
  )
  if (!step.ok) {
    throw new AppError('invalid_transition', `${event.type} is stale: ${step.reason}`, {
      expose: { currentStatus: current.status, allowedEvents: [] },
    })
  }
  const changed = JSON.stringify(step.clock) !== JSON.stringify(clock)
  return { clock: changed ? step.clock : null, timers: step.timers.map((t) => timerJob(current.id, t.kind, t.at)) }
}

/** @throws AppError `invalid_transition` for a deadline event that no longer matches the clock. */
export async function advanceClock(
  tx: CaseTx,
  current: CaseRecord,
  event: { type: EventType; data: Record<string, unknown> },
  next: LifecycleState,
  snapshot: DirectorySnapshot,
  now: Date,
): Promise<DeadlineClock | null> {
  const step = planClock(await tx.loadClock(current.id), current, event, next, snapshot, now)
  if (step.clock !== null) await tx.saveClock(current.id, step.clock)
  for (const job of step.timers) await tx.addOutbox(job.topic, job.key, job.payload)
  return step.clock
}
