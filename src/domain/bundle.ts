/**
 * A parent case (a one-thing bundle, or a `multi_site` case) has no life of its own: its status, outcome
 * and due date follow from its children's (PROTOCOL §4: "the parent completes, with every child's result
 * issued together, when the last child completes"). Pure; the services apply it under the parent's lock.
 */
import type { CaseStatus } from './lifecycle.js'

export interface ChildState {
  status: CaseStatus
  outcome: 'approved' | 'denied' | null
  dueAt: Date | null
  dueDate: string | null
}

export interface ParentState {
  status: CaseStatus
  outcome: 'approved' | 'denied' | null
  dueAt: Date | null
  dueDate: string | null
}

/** A case is a parent when it was split into children: it has no processing region of its own. */
export function isParentCase(c: { parentId: string | null; processingRegion: string | null }): boolean {
  return c.parentId === null && c.processingRegion === null
}

/** How far a running child has come; the parent shows the least advanced of its running children. */
const progress: Partial<Record<CaseStatus, number>> = {
  submitted: 0,
  dispatched: 1,
  materials_shipped: 2,
  materials_received: 3,
  accepted: 4,
  in_review: 5,
}

/** Children that will not move on by themselves any more (a `delivery_failed` one waits for a re-drive). */
const settled: ReadonlySet<CaseStatus> = new Set<CaseStatus>([
  'rejected',
  'completed',
  'result_delivered',
  'closed',
  'withdrawn',
])
const decided: ReadonlySet<CaseStatus> = new Set<CaseStatus>(['completed', 'result_delivered', 'closed'])

/**
 * The parent's status, outcome and due date from its children.
 *
 * - While any child runs: `delivery_failed` if a delivery gave up (an admin must act), else
 *   `supplement_requested` if a department waits for the applicant, else the least advanced status of
 *   the running children.
 * - Once every child has settled: `withdrawn` if all were withdrawn, `rejected` if none was decided,
 *   otherwise `completed`, or the furthest common step of the decided children after that
 *   (`result_delivered`, `closed`), so a parent reads as its children do after unified issuance.
 * - Outcome: `approved` when every decided child was approved and none rejected, `denied` when none was
 *   approved, `null` for a mixed decision (each child's outcome tells).
 * - Due date: the latest of the children's that are not withdrawn.
 *
 * @example
 * deriveParent([{ status: 'completed', outcome: 'approved', … }, { status: 'in_review', … }]).status // 'in_review'
 */
export function deriveParent(children: readonly ChildState[]): ParentState {
  const live = children.filter((c) => c.status !== 'withdrawn')
  const due = live.reduce<ChildState | null>(
    (latest, c) => (c.dueAt && (!latest?.dueAt || c.dueAt > latest.dueAt) ? c : latest),
    null,
  )
  const dueOf = { dueAt: due?.dueAt ?? null, dueDate: due?.dueDate ?? null }
  if (children.length === 0) return { status: 'submitted', outcome: null, ...dueOf }

  const running = children.filter((c) => !settled.has(c.status))
  if (running.length > 0) {
    let status: CaseStatus
    if (running.some((c) => c.status === 'delivery_failed')) status = 'delivery_failed'
    else if (running.some((c) => c.status === 'supplement_requested')) status = 'supplement_requested'
    else {
      status = running.reduce<CaseStatus>(
        (least, c) => ((progress[c.status] ?? 0) < (progress[least] ?? 0) ? c.status : least),
        running[0]?.status ?? 'submitted',
      )
    }
    return { status, outcome: null, ...dueOf }
  }

  if (live.length === 0) return { status: 'withdrawn', outcome: null, ...dueOf }
  const done = live.filter((c) => decided.has(c.status))
  if (done.length === 0) return { status: 'rejected', outcome: 'denied', ...dueOf }
  const rejected = live.length - done.length
  const approved = done.filter((c) => c.outcome === 'approved').length
  const outcome = approved === 0 ? 'denied' : approved === done.length && rejected === 0 ? 'approved' : null
  const status: CaseStatus = done.every((c) => c.status === 'closed')
    ? 'closed'
    : done.every((c) => c.status !== 'completed')
      ? 'result_delivered'
      : 'completed'
  return { status, outcome, ...dueOf }
}

/** Origin events posted on a parent that apply to every child able to take them (issued together). */
export const cascadingEvents = new Set(['withdrawn', 'result_delivered', 'closed'] as const)
