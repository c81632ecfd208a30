/** Reading cases and their timelines: visible to the origin and processing parties only (others: 404). */

import type { z } from 'zod'
import { AppError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import { actsFor, isAdmin, originWindowOf, requireVisible, sidesOf, visibleRegions } from '../authz.js'
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

/**
 * The children of a parent that the caller may see: all of them for the origin side and admins; for a
 * processing party (who sees the parent to schedule joint inspections, say), only the children it processes:
 * each department sees its own part of the bundle, never the others'.
 */
export function visibleChildren(ctx: VerbContext, loaded: Awaited<ReturnType<typeof loadVisibleCase>>): CaseRecord[] {
  const { children, sides, snap } = loaded
  if (sides.origin || isAdmin(ctx.caller)) return children
  return children.filter((k) => k.processingRegion !== null && actsFor(ctx.caller, k.processingRegion, snap.regions))
}

/**
 * Adds the events that could not be forwarded to the views of the cases whose origin side the caller is
 * on (the window that started them must learn of it), and for admins.
 */
async function withForwardingProblems(ctx: VerbContext, views: CaseView[], origin: (v: CaseView) => boolean) {
  const store = ctx.deps.deadLetters
  const shown = views.filter((v) => isAdmin(ctx.caller) || origin(v))
  if (!store || shown.length === 0) return views
  const letters = await store.openEvents(shown.map((v) => v.id))
  if (letters.length === 0) return views
  const byCase = new Map<string, typeof letters>()
  for (const d of letters) byCase.set(d.caseId, [...(byCase.get(d.caseId) ?? []), d])
  return views.map((v) => {
    const own = shown.includes(v) ? byCase.get(v.id) : undefined
    if (!own) return v
    return {
      ...v,
      forwardingProblems: own.map((d) => ({
        seq: d.seq ?? 0,
        type: d.eventType,
        reason: d.reason,
        at: d.createdAt.toISOString(),
      })),
    }
  })
}

export async function getCase(ctx: VerbContext, id: string): Promise<CaseView> {
  const loaded = await loadVisibleCase(ctx, id)
  const { record, children, sides, snap } = loaded
  let shown = record
  let parts = children
  if (record.parentId === null && children.length && !sides.origin && !isAdmin(ctx.caller)) {
    // A processing party sees the parent with its own children only, and of the one form and the materials
    // submitted once only what those children's items ask for.
    parts = visibleChildren(ctx, loaded)
    const items = parts.flatMap((k) => (k.item ? [snap.items.get(k.item)] : [])).filter((i) => i !== undefined)
    const fields = new Set(items.flatMap((i) => i.formFields.map((f) => f.name)))
    const materials = new Set(items.flatMap((i) => i.materials.map((m) => m.code)))
    shown = {
      ...record,
      form: Object.fromEntries(Object.entries(record.form).filter(([k]) => fields.has(k))),
      materials: record.materials.filter((m) => materials.has(String(m.code))),
    }
  }
  const view = toCaseView(
    shown,
    ctx.caller,
    snap.regions,
    ctx.deps.vault,
    record.parentId === null && children.length ? parts : undefined,
    ctx.deps.clock.now(),
  )
  const [withProblems] = await withForwardingProblems(ctx, [view], () => sides.origin)
  return withProblems ?? view
}

export async function listCases(ctx: VerbContext, q: z.infer<typeof ListCasesQuery>) {
  const snap = await ctx.deps.directory.snapshot()
  const all = snap.directory.regions.map((r) => r.code)
  const regions = visibleRegions(ctx.caller, snap.regions, all)
  if (regions !== null && regions.length === 0) return { cases: [], nextCursor: null }
  const page = await ctx.deps.cases.list({
    visibleRegions: regions,
    originWindow: originWindowOf(ctx.caller),
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
  const views = page.cases.map((c: CaseRecord) =>
    toCaseView(c, ctx.caller, snap.regions, ctx.deps.vault, undefined, ctx.deps.clock.now()),
  )
  const origin = new Map(page.cases.map((c) => [c.id, sidesOf(ctx.caller, c, snap.regions).origin]))
  return {
    cases: await withForwardingProblems(ctx, views, (v) => origin.get(v.id) === true),
    nextCursor: page.nextCursor,
  }
}

export async function listEvents(ctx: VerbContext, id: string) {
  await loadVisibleCase(ctx, id)
  const events = await ctx.deps.cases.events(id)
  return { events: events.map(toEventView) }
}
