/** Reading cases and their timelines: visible to the origin and processing parties only (others: 404). */

import type { z } from 'zod'
import { AppError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import { isAdmin, requireVisible, sidesOf, visibleRegions } from '../authz.js'
import type { VerbContext } from '../context.js'
import type { CaseView, ListCasesQuery } from './schemas.js'
import { toCaseView, toEventView } from './view.js'

/** Loads a case the caller may see, with its children and which sides the caller is on. */
export async function loadVisibleCase({ caller, deps }: VerbContext, id: string) {
  const record = await deps.cases.get(id)
  if (!record) throw new AppError('not_found', `no case ${id}`)
  const snap = await deps.directory.snapshot()
  const children = record.parentId === null ? await deps.cases.children(record.id) : []
  let sides = sidesOf(caller, record, snap.regions, children.map((k) => k.processingRegion ?? '').filter(Boolean))
  if (record.parentId !== null && !sides.origin && !sides.processing && !isAdmin(caller)) {
    // A child is visible to the origin of its parent as well (same origin), nothing more.
    sides = { origin: false, processing: false }
  }
  requireVisible(caller, sides, id)
  return { record, children, sides, snap }
}

export async function getCase(ctx: VerbContext, id: string): Promise<CaseView> {
  const { record, children, snap } = await loadVisibleCase(ctx, id)
  return toCaseView(
    record,
    ctx.caller,
    snap.regions,
    ctx.deps.vault,
    record.parentId === null && children.length ? children : undefined,
    ctx.deps.clock.now(),
  )
}

export async function listCases(ctx: VerbContext, q: z.infer<typeof ListCasesQuery>) {
  const snap = await ctx.deps.directory.snapshot()
  const all = snap.directory.regions.map((r) => r.code)
  const regions = visibleRegions(ctx.caller, snap.regions, all)
  if (regions !== null && regions.length === 0) return { cases: [], nextCursor: null }
  const page = await ctx.deps.cases.list({
    visibleRegions: regions,
    status: q.status,
    scope: q.scope,
    mode: q.mode,
    item: q.item,
    region: q.region,
    window: q.window,
    updatedSince: q.updatedSince ? new Date(q.updatedSince) : undefined,
    cursor: q.cursor,
    limit: q.limit,
  })
  return {
    cases: page.cases.map((c: CaseRecord) =>
      toCaseView(c, ctx.caller, snap.regions, ctx.deps.vault, undefined, ctx.deps.clock.now()),
    ),
    nextCursor: page.nextCursor,
  }
}

export async function listEvents(ctx: VerbContext, id: string) {
  await loadVisibleCase(ctx, id)
  const events = await ctx.deps.cases.events(id)
  return { events: events.map(toEventView) }
}
