/** Reading cases and their timelines: visible to the origin and processing parties only (others: 404). */

import type { z } from 'zod'
import { AppError } from '../../errors.js'
import type { CaseFilter, CaseRecord } from '../../ports/case-store.js'
import {
  actsFor,
  departmentAllows,
  departmentsOf,
  isAdmin,
  itemsOfDepartments,
  originWindowOf,
  requireVisible,
  sidesOf,
  visibleRegions,
} from '../authz.js'
import type { VerbContext } from '../context.js'
import { type CaseView, IdType, type ListCasesQuery, type SearchCasesBody } from './schemas.js'
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
  // A department-limited caller (PROTOCOL 1.1 §2): a case of its departments' items, or a parent with such a
  // child; anything else is as unknown to it as another region's case.
  if (departmentsOf(caller) !== null) {
    const mine = (k: CaseRecord) => departmentAllows(caller, k.item, snap.items)
    if (!(children.length ? children.some(mine) : mine(record))) throw new AppError('not_found', `no case ${id}`)
  }
  return { record, children, sides, snap }
}

/** Whether the caller sees the parent with only part of its children (a processing party, a department). */
function seesPart(ctx: VerbContext, sides: { origin: boolean }): boolean {
  return (!sides.origin && !isAdmin(ctx.caller)) || departmentsOf(ctx.caller) !== null
}

/**
 * The children of a parent that the caller may see: all of them for the origin side and admins; for a
 * processing party (who sees the parent to schedule joint inspections, say), only the children it processes:
 * each department sees its own part of the bundle, never the others'.
 */
export function visibleChildren(ctx: VerbContext, loaded: Awaited<ReturnType<typeof loadVisibleCase>>): CaseRecord[] {
  const { children, sides, snap } = loaded
  const ofMine = children.filter((k) => departmentAllows(ctx.caller, k.item, snap.items))
  if (sides.origin || isAdmin(ctx.caller)) return ofMine
  return ofMine.filter((k) => k.processingRegion !== null && actsFor(ctx.caller, k.processingRegion, snap.regions))
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
  if (record.parentId === null && children.length && seesPart(ctx, sides)) {
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
  const { cases, nextCursor } = await findCases(ctx, q, false)
  return { cases, nextCursor }
}

/**
 * Search (`POST /v1/cases/search`): the list's filters, a case number, part of the applicant's name, and the
 * applicant's identity number, looked up by its keyed hash (under each identity document type unless one is
 * given; resident ID numbers upper-cased as at intake). The number is used for that hash only: never stored,
 * logged or echoed.
 */
export async function searchCases(ctx: VerbContext, q: SearchCasesBody) {
  return findCases(ctx, q, true)
}

async function findCases(
  ctx: VerbContext,
  q: z.infer<typeof ListCasesQuery> & Partial<Pick<SearchCasesBody, 'number' | 'applicantName' | 'applicant'>>,
  counted: boolean,
) {
  const snap = await ctx.deps.directory.snapshot()
  const all = snap.directory.regions.map((r) => r.code)
  const regions = visibleRegions(ctx.caller, snap.regions, all)
  if (regions !== null && regions.length === 0) return { cases: [], nextCursor: null, total: 0 }
  const filter: CaseFilter = {
    visibleRegions: regions,
    originWindow: originWindowOf(ctx.caller),
    items: itemsOfDepartments(ctx.caller, snap.items),
    status: q.status,
    scope: q.scope,
    mode: q.mode,
    item: q.item,
    region: q.region,
    window: q.window,
    updatedSince: q.updatedSince ? new Date(q.updatedSince) : undefined,
    dueBefore: q.dueBefore ? new Date(q.dueBefore) : undefined,
    number: q.number?.toUpperCase(),
    applicantName: q.applicantName,
    applicantIdHmacs: q.applicant ? lookupHashes(ctx, q.applicant) : undefined,
    cursor: q.cursor,
    limit: q.limit,
  }
  const [page, total] = await Promise.all([ctx.deps.cases.list(filter), counted ? ctx.deps.cases.count(filter) : 0])
  const views = page.cases.map((c: CaseRecord) =>
    toCaseView(c, ctx.caller, snap.regions, ctx.deps.vault, undefined, ctx.deps.clock.now()),
  )
  const origin = new Map(page.cases.map((c) => [c.id, sidesOf(ctx.caller, c, snap.regions).origin]))
  return {
    cases: await withForwardingProblems(ctx, views, (v) => origin.get(v.id) === true),
    nextCursor: page.nextCursor,
    total,
  }
}

/** The blind-index values an identity number may be stored under. */
function lookupHashes(ctx: VerbContext, applicant: NonNullable<SearchCasesBody['applicant']>): Buffer[] {
  const types = applicant.idType ? [applicant.idType] : IdType.options
  return types.map((t) =>
    ctx.deps.vault.lookupHash(t, t === 'resident_id' ? applicant.idNumber.toUpperCase() : applicant.idNumber),
  )
}

export async function listEvents(ctx: VerbContext, id: string) {
  const loaded = await loadVisibleCase(ctx, id)
  const events = (await ctx.deps.cases.events(id)).map(toEventView)
  if (!loaded.children.length || !seesPart(ctx, loaded.sides)) return { events }
  // A parent's events name only the children the caller may see (PROTOCOL 1.1 §2). Such an event's hash is
  // over what the gateway recorded: it is recomputed from the whole event, which this caller is not shown.
  const shown = new Set(visibleChildren(ctx, loaded).map((k) => k.id))
  return {
    events: events.map((e) => {
      const named = e.data.children
      if (!Array.isArray(named)) return e
      const children = named.filter((k) => shown.has(String((k as { id?: unknown }).id)))
      return { ...e, data: { ...e.data, children } }
    }),
  }
}
