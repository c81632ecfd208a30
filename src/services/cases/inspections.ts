/**
 * Joint site inspections (联合踏勘): one inspection that several children of a parent case share. Scheduling
 * it appends `inspection_scheduled` (data `{ inspection, date, place, reason }`) to each child and completing
 * it appends `inspection_completed` to each, in one transaction: every child's deadline clock stops together
 * and restarts together, or none does (PROTOCOL 1.1 §4: as for suspended/resumed). They are origin-side
 * events, so each is forwarded to the child's processing side like any other (a peer gateway, whose clock
 * for the child then stops too; a `rest` system through its follow-up mapping; a `manual` region's staff see
 * them on the child's timeline and transfer slip).
 */
import { z } from 'zod'
import { newCaseId } from '../../domain/case-id.js'
import { AppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { CaseEvent, RequestProof } from '../../ports/case-store.js'
import type { Inspection, InspectionStore } from '../../ports/inspection-store.js'
import { actsFor, isAdmin } from '../authz.js'
import type { CaseDeps, Ctx } from '../context.js'
import { appendCaseEventInTx } from './gateway-events.js'
import { loadVisibleCase } from './read.js'
import { actorOf, toEventView } from './view.js'

export interface InspectionDeps {
  cases: CaseDeps
  inspections: InspectionStore
}

export const ScheduleInspectionBody = z
  .strictObject({
    children: z
      .array(z.string().regex(/^[0-9a-f-]{36}$/, 'a case id'))
      .min(2)
      .max(50)
      .meta({ description: 'The child cases inspected together (at least two)' }),
    date: z.iso.date().meta({ description: 'The day of the inspection (CST)', example: '2026-10-09' }),
    place: z.string().min(1).max(200).meta({ example: '十堰市张湾区车城路1号' }),
  })
  .meta({ id: 'ScheduleInspection' })
export type ScheduleInspectionBody = z.infer<typeof ScheduleInspectionBody>

export const InspectionView = z
  .object({
    id: z.string(),
    parentId: z.string(),
    children: z.array(z.string()),
    date: z.string(),
    place: z.string(),
    status: z.enum(['scheduled', 'completed']),
    createdBy: z.string(),
    createdAt: z.string(),
    completedBy: z.string().nullable(),
    completedAt: z.string().nullable(),
  })
  .meta({ id: 'Inspection' })

const view = (i: Inspection) => ({
  ...i,
  createdAt: i.createdAt.toISOString(),
  completedAt: i.completedAt?.toISOString() ?? null,
})

/**
 * The parent and the named children; the caller must be an admin, the parent's origin side (which holds the
 * bundle), or the processing side of every child named.
 */
async function involved(caller: Caller, deps: InspectionDeps, parentId: string, childIds: string[]) {
  const { record, children, snap, sides } = await loadVisibleCase({ caller, deps: deps.cases }, parentId)
  if (record.parentId !== null || children.length === 0) {
    throw new AppError('rule_violation', `case ${parentId} is not a parent case (a thing or multi_site case)`)
  }
  const byId = new Map(children.map((c) => [c.id, c]))
  const strangers = childIds.filter((id) => !byId.has(id))
  if (strangers.length) {
    throw new AppError('validation_failed', `not children of case ${parentId}: ${strangers.join(', ')}`, {
      errors: strangers.map((id) => ({ path: 'children', message: `${id} is not a child of this case` })),
    })
  }
  if (!isAdmin(caller) && !sides.origin) {
    const notMine = childIds.filter((id) => {
      const region = byId.get(id)?.processingRegion
      return !region || !actsFor(caller, region, snap.regions)
    })
    if (notMine.length) {
      throw new AppError('forbidden', `you are not the processing side of ${notMine.join(', ')}`)
    }
  }
}

/** Who asks, the inspection verbs' dependencies, and a system client's signed request (kept as the events' proof). */
type InspectionContext = Ctx<InspectionDeps> & { request?: RequestProof | undefined }

/**
 * Schedules a joint inspection: `inspection_scheduled` on each child, all or none (one refused child refuses them all,
 * with the 409 `invalid_transition` naming it).
 */
export async function scheduleInspection(
  { caller, deps, request }: InspectionContext,
  { parentId, body }: { parentId: string; body: ScheduleInspectionBody },
): Promise<{ inspection: ReturnType<typeof view>; events: (ReturnType<typeof toEventView> & { caseId: string })[] }> {
  const childIds = [...new Set(body.children)].sort()
  await involved(caller, deps, parentId, childIds)
  if (childIds.length < 2) {
    throw new AppError('validation_failed', 'a joint inspection needs at least two different children', {
      errors: [{ path: 'children', message: 'a child is listed twice' }],
    })
  }
  const now = deps.cases.clock.now()
  const snapshot = await deps.cases.directory.snapshot()
  const inspection: Inspection = {
    id: newCaseId(now),
    parentId,
    children: childIds,
    date: body.date,
    place: body.place,
    status: 'scheduled',
    createdBy: actorOf(caller),
    createdAt: now,
    completedBy: null,
    completedAt: null,
  }
  const events = await deps.inspections.transaction(async (tx) => {
    const appended: CaseEvent[] = []
    // Ids in order: two inspections over overlapping children lock them in the same order.
    for (const id of childIds) {
      const data = {
        inspection: inspection.id,
        date: body.date,
        place: body.place,
        reason: `联合踏勘 ${body.date} ${body.place}`,
      }
      const r = await appendCaseEventInTx(
        tx.cases,
        id,
        { type: 'inspection_scheduled', actor: inspection.createdBy, data, request },
        now,
        snapshot,
      )
      appended.push(r.event)
    }
    await tx.insert(inspection)
    return appended
  })
  deps.cases.afterCommit?.()
  return { inspection: view(inspection), events: events.map((e) => ({ caseId: e.caseId, ...toEventView(e) })) }
}

/** Completes a joint inspection: `inspection_completed` on each of its children, all or none. */
export async function completeInspection(
  { caller, deps, request }: InspectionContext,
  { parentId, inspectionId }: { parentId: string; inspectionId: string },
): Promise<{ inspection: ReturnType<typeof view>; events: (ReturnType<typeof toEventView> & { caseId: string })[] }> {
  const known = await deps.inspections.get(inspectionId)
  // Visibility first: a non-party learns nothing of the parent or its inspections.
  await loadVisibleCase({ caller, deps: deps.cases }, parentId)
  if (!known || known.parentId !== parentId) throw new AppError('not_found', `no inspection ${inspectionId}`)
  await involved(caller, deps, parentId, known.children)
  const now = deps.cases.clock.now()
  const snapshot = await deps.cases.directory.snapshot()
  const by = actorOf(caller)
  const result = await deps.inspections.transaction(async (tx) => {
    const current = await tx.lock(inspectionId)
    if (!current) throw new AppError('not_found', `no inspection ${inspectionId}`)
    if (current.status !== 'scheduled') {
      throw new AppError('conflict', `inspection ${inspectionId} is already completed`, {
        expose: { inspectionStatus: current.status },
      })
    }
    const appended: CaseEvent[] = []
    for (const id of current.children) {
      const data = { inspection: inspectionId }
      appended.push(
        (
          await appendCaseEventInTx(
            tx.cases,
            id,
            { type: 'inspection_completed', actor: by, data, request },
            now,
            snapshot,
          )
        ).event,
      )
    }
    await tx.complete(inspectionId, by, now)
    return { inspection: { ...current, status: 'completed' as const, completedBy: by, completedAt: now }, appended }
  })
  deps.cases.afterCommit?.()
  return {
    inspection: view(result.inspection),
    events: result.appended.map((e) => ({ caseId: e.caseId, ...toEventView(e) })),
  }
}

/** The joint inspections of a parent case, for its parties (others: 404). */
export async function listInspections({ caller, deps }: InspectionContext, parentId: string) {
  await loadVisibleCase({ caller, deps: deps.cases }, parentId)
  return { inspections: (await deps.inspections.ofParent(parentId)).map(view) }
}
