/**
 * Who may do what (PROTOCOL §2): a caller acts for regions (a client's registered regions, an
 * operator's region; each covering its descendants); admins act for configuration and may read
 * every case, but create and post nothing on a case themselves.
 */
import type { RegionIndex } from '../domain/regions.js'
import { AppError } from '../errors.js'
import type { Caller, Role } from '../ports/callers.js'
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

/** Configuration (regions, items, agreements, bindings, clients, dead letters, queues): admins only. */
export function requireAdmin(caller: Caller): void {
  if (!isAdmin(caller)) throw new AppError('forbidden', 'only an admin may do this')
}

/**
 * The separated duties of the administration (三员分立): each is held by the roles listed, and no role holds
 * both configuration and the audit trail. `report` is reading the performance report.
 */
export type Duty = 'configure' | 'secure' | 'audit' | 'report'

export const DUTY_ROLES: Readonly<Record<Duty, readonly Role[]>> = {
  configure: ['admin'],
  secure: ['security'],
  audit: ['auditor'],
  report: ['admin', 'auditor'],
}

const dutyText: Record<Duty, string> = {
  configure: 'only an admin may change or read the configuration',
  secure: 'only a security administrator (role security) may manage tokens, keys and revocations',
  audit: 'only an auditor may read the audit trail',
  report: 'only an admin or an auditor may read the reports',
}

export function hasDuty(caller: Caller, duty: Duty): boolean {
  return caller.kind === 'person' && DUTY_ROLES[duty].includes(caller.role)
}

/** @throws AppError `forbidden` unless the caller's role holds one of `duties`. */
export function requireDuty(caller: Caller, ...duties: Duty[]): void {
  if (!duties.some((d) => hasDuty(caller, d))) {
    throw new AppError('forbidden', duties.map((d) => dutyText[d]).join('; '))
  }
}

/**
 * Which duties may call each administrative route (method, OpenAPI path): checked at the edge before any
 * input is read, again by the verbs. An administrative route not listed here is answered 404.
 */
export const ADMIN_ROUTE_DUTIES: readonly { method: string; path: string; duties: readonly Duty[] }[] = [
  { method: 'GET', path: '/v1/admin/agreements', duties: ['configure'] },
  { method: 'GET', path: '/v1/admin/agreements/{id}/versions', duties: ['configure'] },
  { method: 'POST', path: '/v1/admin/agreements/{id}/versions', duties: ['configure'] },
  { method: 'GET', path: '/v1/admin/agreements/{id}/diff', duties: ['configure'] },
  { method: 'POST', path: '/v1/admin/agreements/{id}/versions/{version}/activate', duties: ['configure'] },
  { method: 'POST', path: '/v1/admin/agreements/{id}/versions/{version}/suspend', duties: ['configure'] },
  { method: 'POST', path: '/v1/admin/agreements/{id}/versions/{version}/retire', duties: ['configure'] },
  { method: 'GET', path: '/v1/admin/bindings', duties: ['configure'] },
  { method: 'PUT', path: '/v1/admin/bindings/{region}', duties: ['configure'] },
  { method: 'DELETE', path: '/v1/admin/bindings/{region}', duties: ['configure'] },
  { method: 'POST', path: '/v1/admin/clients', duties: ['configure'] },
  { method: 'GET', path: '/v1/admin/clients', duties: ['configure', 'secure'] },
  { method: 'GET', path: '/v1/admin/clients/{id}', duties: ['configure', 'secure'] },
  { method: 'DELETE', path: '/v1/admin/clients/{id}', duties: ['configure'] },
  { method: 'PUT', path: '/v1/admin/clients/{id}/jwks', duties: ['secure'] },
  // An admin may issue the first security and auditor tokens (the bootstrap); the verb checks the rest.
  { method: 'POST', path: '/v1/admin/tokens', duties: ['secure', 'configure'] },
  { method: 'GET', path: '/v1/admin/tokens', duties: ['secure'] },
  { method: 'DELETE', path: '/v1/admin/tokens/{id}', duties: ['secure'] },
  { method: 'POST', path: '/v1/admin/key-revocations', duties: ['secure'] },
  { method: 'GET', path: '/v1/admin/key-revocations', duties: ['secure'] },
  { method: 'GET', path: '/v1/admin/dead-letters', duties: ['configure'] },
  { method: 'POST', path: '/v1/admin/dead-letters/{id}/redrive', duties: ['configure'] },
  { method: 'GET', path: '/v1/admin/queues', duties: ['configure'] },
  { method: 'GET', path: '/v1/admin/reports/performance', duties: ['report'] },
  { method: 'GET', path: '/v1/admin/reports/volume', duties: ['report'] },
  { method: 'GET', path: '/v1/audit', duties: ['audit'] },
  { method: 'GET', path: '/v1/audit/export', duties: ['audit'] },
]

const routeMatchers = ADMIN_ROUTE_DUTIES.map((r) => ({
  ...r,
  pattern: new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}))

/** The rule of an administrative request (`HEAD` counts as `GET`), or undefined when none. */
export function adminRouteOf(method: string, path: string): (typeof ADMIN_ROUTE_DUTIES)[number] | undefined {
  const m = method === 'HEAD' ? 'GET' : method
  return routeMatchers.find((r) => r.method === m && r.pattern.test(path))
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
