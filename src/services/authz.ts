/**
 * Who may do what (PROTOCOL §2): a caller acts for regions (a client's registered regions, an
 * operator's region; each covering its descendants); admins act for configuration and may read
 * every case, but create and post nothing on a case themselves.
 */
import type { RegionIndex } from '../domain/regions.js'
import { AppError } from '../errors.js'
import type { Caller } from '../ports/callers.js'
import type { CaseRecord } from '../ports/case-store.js'

export function regionsOf(caller: Caller): string[] {
  if (caller.kind === 'client') return caller.regions
  return caller.role === 'operator' && caller.region ? [caller.region] : []
}

export function actsFor(caller: Caller, region: string, index: RegionIndex): boolean {
  if (!index.has(region)) return false
  return regionsOf(caller).some((r) => index.has(r) && index.covers(r, region))
}

export function isAdmin(caller: Caller): boolean {
  return caller.kind === 'person' && caller.role === 'admin'
}

export function requireAdmin(caller: Caller): void {
  if (!isAdmin(caller)) throw new AppError('forbidden', 'only an admin may do this')
}

/** Every region code the caller's regions cover (their subtrees), or null for an admin (all). */
export function visibleRegions(caller: Caller, index: RegionIndex, all: readonly string[]): string[] | null {
  if (isAdmin(caller)) return null
  const mine = regionsOf(caller).filter((r) => index.has(r))
  return all.filter((code) => mine.some((r) => index.covers(r, code)))
}

export interface Sides {
  origin: boolean
  processing: boolean
}

/**
 * The window a window operator is bound to: on the origin side they see and act on only the cases their
 * window collected (`agent.window`), not every case of their region. Null for everyone else.
 */
export function originWindowOf(caller: Caller): string | null {
  return caller.kind === 'person' && caller.role === 'operator' && caller.window ? caller.window : null
}

/** Whether the caller is the case's origin party (for a window operator: their window collected it). */
export function isOriginParty(
  caller: Caller,
  c: { originRegion: string; agent: { window: string } | null },
  index: RegionIndex,
): boolean {
  if (!actsFor(caller, c.originRegion, index)) return false
  const window = originWindowOf(caller)
  return window === null || c.agent?.window === window
}

/**
 * Which side(s) of the case the caller is on; a parent case's processing side is any child's. A window
 * operator is on the origin side only of the cases their window collected.
 */
export function sidesOf(caller: Caller, c: CaseRecord, index: RegionIndex, childRegions: string[] = []): Sides {
  const processingRegions = c.processingRegion ? [c.processingRegion] : childRegions
  return {
    origin: isOriginParty(caller, c, index),
    processing: processingRegions.some((r) => actsFor(caller, r, index)),
  }
}

/** 404 for a non-party (never reveal that the case exists); admins see everything. */
export function requireVisible(caller: Caller, sides: Sides, id: string): void {
  if (isAdmin(caller) || sides.origin || sides.processing) return
  throw new AppError('not_found', `no case ${id}`)
}

/**
 * (PROTOCOL 1.1 §2) The department codes the caller is limited to (`departmentCode` of the items), or null
 * when it is not limited (the case before 1.1: every department of its regions).
 */
export function departmentsOf(caller: Caller): readonly string[] | null {
  const d = caller.departments
  return d && d.length > 0 ? d : null
}

/** Whether a department-limited caller may see a case of `item` (always, for a caller without a limit). */
export function departmentAllows(
  caller: Caller,
  item: string | null,
  items: ReadonlyMap<string, { departmentCode: string }>,
): boolean {
  const mine = departmentsOf(caller)
  if (mine === null) return true
  const department = item === null ? undefined : items.get(item)?.departmentCode
  return department !== undefined && mine.includes(department)
}

/** The item codes of the caller's departments, or null when it is not limited (list filters). */
export function itemsOfDepartments(
  caller: Caller,
  items: ReadonlyMap<string, { departmentCode: string }>,
): string[] | null {
  const mine = departmentsOf(caller)
  if (mine === null) return null
  return [...items.entries()].filter(([, i]) => mine.includes(i.departmentCode)).map(([code]) => code)
}
