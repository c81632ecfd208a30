/**
 * `resolveRoute`: may a case for this item (or one-thing bundle) go from the origin region to the
 * processing region in this mode? Answers with the scope, the agreement version, the due date and
 * the one-time-notification checklist, or refuses with one of the protocol's codes.
 */
import { z } from 'zod'
import { type Item, Mode, RegionRef, type Scope, Slug, type TimeLimit } from '../../../config/schema.js'
import { matchAgreement, timeLimitFor } from '../../domain/agreements.js'
import { cstDate } from '../../domain/calendar.js'
import { type Checklist, mergeChecklist } from '../../domain/checklist.js'
import { usableRegion } from '../../domain/regions.js'
import { AppError } from '../../errors.js'
import type { DirectorySnapshot } from './snapshot.js'

/**
 * What a route names, for a route look-up and a case submission alike: exactly one of an item and a thing,
 * and with an item where it is processed (`processingRegion`, or the `sites` of a multi_site case).
 */
export function itemOrThingIssues(
  v: { item?: string | undefined; thing?: string | undefined; processingRegion?: string | undefined; sites?: unknown },
  ctx: z.RefinementCtx,
): void {
  if ((v.item === undefined) === (v.thing === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['item'], message: 'give exactly one of `item` and `thing`' })
  }
  if (v.item !== undefined && v.processingRegion === undefined && v.sites === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['processingRegion'],
      message: 'required with `item` (or `sites` in multi_site)',
    })
  }
}

export const ResolveRouteInput = z
  .strictObject({
    item: Slug.optional().meta({ description: 'Service item code (or `thing`)', example: 'hukou-transfer-work' }),
    thing: Slug.optional().meta({ description: 'One-thing bundle id (or `item`)', example: 'open-elderly-care-home' }),
    originRegion: RegionRef.meta({ example: '420303' }),
    processingRegion: RegionRef.optional().meta({
      description: 'Required with `item`; with `thing`, overrides every member item’s processing region',
      example: '420600',
    }),
    processingRegions: z
      .record(Slug, RegionRef)
      .optional()
      .meta({ description: 'With `thing`: processing region per member item code' }),
    sites: z
      .array(RegionRef)
      .min(2)
      .max(20)
      .optional()
      .meta({ description: 'multi_site with `item`: the regions that each handle their part (one child case each)' }),
    mode: Mode,
  })
  .superRefine((v, ctx) => {
    if (v.sites !== undefined) {
      if (v.item === undefined || v.mode !== 'multi_site') {
        ctx.addIssue({ code: 'custom', path: ['sites'], message: 'only with `item` in multi_site mode' })
      }
      if (v.processingRegion !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['processingRegion'],
          message: 'give `sites` or `processingRegion`, not both',
        })
      }
      if (new Set(v.sites).size !== v.sites.length)
        ctx.addIssue({ code: 'custom', path: ['sites'], message: 'a site is listed twice' })
    }
    itemOrThingIssues(v, ctx)
    if (v.item !== undefined && v.processingRegions !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['processingRegions'], message: 'only with `thing`' })
    }
  })
  .meta({ id: 'ResolveRouteInput' })
export type ResolveRouteInput = z.infer<typeof ResolveRouteInput>

export interface AgreementRef {
  id: string
  version: number
  name: string
}

export interface ItemRoute {
  item: { code: string; name: string; department: string }
  originRegion: string
  processingRegion: string
  mode: z.infer<typeof Mode>
  scope: Scope
  agreement: AgreementRef
  timeLimit: TimeLimit
  dueDate: string
  dueAt: string
}

export interface MemberRefusal {
  item: { code: string; name: string; department: string }
  processingRegion: string
  code: string
  detail: string
}

export interface ResolvedRoute {
  /** `sites`: one item handled in several regions (multi_site), a child case per site. */
  kind: 'item' | 'thing' | 'sites'
  thing?: { id: string; name: string; leadDepartment: string }
  originRegion: string
  mode: z.infer<typeof Mode>
  /** For an item: its scope; for a thing: the widest scope among its allowed members. */
  scope: Scope
  agreement?: AgreementRef
  processingRegion?: string
  dueDate: string
  dueAt: string
  routes: ItemRoute[]
  refused: MemberRefusal[]
  checklist: Checklist
}

const itemRef = (i: Item) => ({ code: i.code, name: i.name, department: i.department })

function checkRegion(snap: DirectorySnapshot, code: string, role: string): void {
  const r = usableRegion(snap.regions, code)
  if (!r.ok) throw new AppError(r.code, `${role}: ${r.detail}`, { context: { [role]: code } })
}

function routeItem(
  snap: DirectorySnapshot,
  item: Item,
  origin: string,
  processing: string,
  mode: ResolveRouteInput['mode'],
  at: Date,
): { ok: true; route: ItemRoute } | { ok: false; code: string; detail: string } {
  const on = cstDate(at)
  const result = matchAgreement({
    index: snap.regions,
    agreements: [...snap.agreements.values()],
    item: item.code,
    origin,
    processing,
    mode,
    on,
  })
  if (!result.ok) return result
  const { match } = result
  const timeLimit = timeLimitFor(match, item)
  const due = snap.calendar.dueDate(at, timeLimit)
  return {
    ok: true,
    route: {
      item: itemRef(item),
      originRegion: origin,
      processingRegion: processing,
      mode,
      scope: match.scope,
      agreement: { id: match.agreement.id, version: match.agreement.version, name: match.agreement.name },
      timeLimit,
      dueDate: due.dueDate,
      dueAt: due.dueAt.toISOString(),
    },
  }
}

const scopeWidth: Record<Scope, number> = { within_city: 0, cross_city: 1, province_wide: 2, cross_province: 3 }

/**
 * Resolves a route at instant `at` (the due date counts from it).
 * @throws AppError `unknown_region`, `region_retired`, `unknown_item`, `unknown_thing`, or the refusal
 *   codes `no_agreement`, `mode_not_allowed`, `scope_mismatch`, `agreement_inactive` (422).
 */
export function resolveRoute(snap: DirectorySnapshot, input: ResolveRouteInput, at: Date): ResolvedRoute {
  checkRegion(snap, input.originRegion, 'originRegion')
  if (input.processingRegion !== undefined) checkRegion(snap, input.processingRegion, 'processingRegion')
  for (const code of Object.values(input.processingRegions ?? {})) checkRegion(snap, code, 'processingRegions')
  for (const code of input.sites ?? []) checkRegion(snap, code, 'sites')

  if (input.item !== undefined && input.sites !== undefined) {
    const item = snap.items.get(input.item)
    if (!item) throw new AppError('unknown_item', `no service item "${input.item}"`)
    const routes: ItemRoute[] = []
    const refused: MemberRefusal[] = []
    for (const site of input.sites) {
      const r = routeItem(snap, item, input.originRegion, site, input.mode, at)
      if (r.ok) routes.push(r.route)
      else refused.push({ item: itemRef(item), processingRegion: site, code: r.code, detail: r.detail })
    }
    return combine(snap, 'sites', input, routes, refused, `${item.code} at ${input.sites.join(', ')}`)
  }

  if (input.item !== undefined) {
    const item = snap.items.get(input.item)
    if (!item) throw new AppError('unknown_item', `no service item "${input.item}"`)
    const processing = input.processingRegion as string
    const r = routeItem(snap, item, input.originRegion, processing, input.mode, at)
    if (!r.ok) throw new AppError(r.code as 'no_agreement', r.detail, { context: { item: item.code } })
    return {
      kind: 'item',
      originRegion: input.originRegion,
      processingRegion: processing,
      mode: input.mode,
      scope: r.route.scope,
      agreement: r.route.agreement,
      dueDate: r.route.dueDate,
      dueAt: r.route.dueAt,
      routes: [r.route],
      refused: [],
      checklist: mergeChecklist([item]),
    }
  }

  const thing = snap.things.get(input.thing as string)
  if (!thing) throw new AppError('unknown_thing', `no one-thing bundle "${input.thing}"`)
  const routes: ItemRoute[] = []
  const refused: MemberRefusal[] = []
  for (const member of thing.items) {
    const item = snap.items.get(member.item)
    if (!item) throw new AppError('internal', `bundle ${thing.id} names unknown item ${member.item}`)
    const processing =
      input.processingRegions?.[item.code] ??
      input.processingRegion ??
      (member.processing === 'origin_city'
        ? snap.regions.cityOf(input.originRegion)
        : member.processing === 'origin_province'
          ? snap.regions.provinceOf(input.originRegion)
          : input.originRegion)
    const r = routeItem(snap, item, input.originRegion, processing, input.mode, at)
    if (r.ok) routes.push(r.route)
    else refused.push({ item: itemRef(item), processingRegion: processing, code: r.code, detail: r.detail })
  }
  return combine(snap, 'thing', input, routes, refused, thing.id, {
    id: thing.id,
    name: thing.name,
    leadDepartment: thing.leadDepartment,
  })
}

/** The answer for several routes (a bundle's members, or one item's sites); refused only if none may go. */
function combine(
  snap: DirectorySnapshot,
  kind: 'thing' | 'sites',
  input: ResolveRouteInput,
  routes: ItemRoute[],
  refused: MemberRefusal[],
  what: string,
  thing?: ResolvedRoute['thing'],
): ResolvedRoute {
  const first = refused[0]
  if (routes.length === 0 && first) {
    throw new AppError(
      first.code as 'no_agreement',
      `no part of ${what} may be routed: ${refused.map((r) => `${r.item.code} → ${r.processingRegion}: ${r.detail}`).join('; ')}`,
    )
  }
  const last = routes.reduce((a, b) => (b.dueAt > a.dueAt ? b : a))
  const widest = routes.reduce((a, b) => (scopeWidth[b.scope] > scopeWidth[a.scope] ? b : a))
  return {
    kind,
    ...(thing ? { thing } : {}),
    originRegion: input.originRegion,
    mode: input.mode,
    scope: widest.scope,
    dueDate: last.dueDate,
    dueAt: last.dueAt,
    routes,
    refused,
    checklist: mergeChecklist([...new Set(routes.map((r) => r.item.code))].map((c) => snap.items.get(c) as Item)),
  }
}
