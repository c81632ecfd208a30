import type { Agreement, AgreementItem, Item, Mode, Scope, TimeLimit } from '../../config/schema.js'
import type { RegionIndex } from './regions.js'
import { type Geography, geographyOf, scopeFitsGeography, scopeRank } from './scope.js'

/** Why no agreement authorises a route; each is also an `ErrorCode` answered with 422. */
export type RouteRefusal = 'no_agreement' | 'mode_not_allowed' | 'scope_mismatch' | 'agreement_inactive'

/** The agreement that authorises a route, its entry for the item, and the route's scope and geography. */
export interface RouteMatch {
  agreement: Agreement
  entry: AgreementItem
  scope: Scope
  geography: Geography
}

export type MatchResult = { ok: true; match: RouteMatch } | { ok: false; code: RouteRefusal; detail: string }

interface Candidate {
  agreement: Agreement
  entry: AgreementItem
}

/** Unknown parties cover nothing (the loader's cross-check reports them) instead of throwing. */
function partyCovers(index: RegionIndex, party: string, code: string): boolean {
  return index.has(party) && index.covers(party, code)
}

function inactiveReason(agreement: Agreement, on: string): string | null {
  if (agreement.status !== 'active') return agreement.status
  if (on < agreement.validFrom) return `not yet valid (from ${agreement.validFrom})`
  if (agreement.validTo !== null && on > agreement.validTo) return `expired (valid to ${agreement.validTo})`
  return null
}

const label = (a: Agreement): string => `${a.id}@${a.version}`

/**
 * Finds the agreement that authorises handling `item` for an applicant of `origin` in `processing`
 * with `mode` on date `on` (CST, YYYY-MM-DD). Origin and processing must be known codes (else
 * `AppError('unknown_region')`); whether they are retired is the caller's check (`usableRegion`).
 *
 * Steps, each with its refusal when nothing survives: agreements naming the item whose parties cover
 * both regions (`no_agreement`) → whose scope fits the regions' geography (`scope_mismatch`) → active
 * and within validity (`agreement_inactive`) → whose entry allows the mode (`mode_not_allowed`).
 * Among the survivors the most specific scope wins, then the smaller id.
 *
 * @example
 * matchAgreement({ index, agreements, item: 'food-business-licence', origin: '420303', processing: '420600',
 *   mode: 'online_transfer', on: '2026-03-02' })
 * // { ok: true, match: { agreement: <xiang-shi-sui-shen>, scope: 'cross_city', geography: 'cross_city', … } }
 */
export function matchAgreement(input: {
  index: RegionIndex
  agreements: Agreement[]
  item: string
  origin: string
  processing: string
  mode: Mode
  on: string
}): MatchResult {
  const { index, item, origin, processing, mode, on } = input
  const geography = geographyOf(index, origin, processing)
  const route = `${origin} → ${processing}`

  const candidates: Candidate[] = []
  for (const agreement of input.agreements) {
    const entry = agreement.items.find((e) => e.item === item)
    if (!entry) continue
    const coversOrigin = agreement.parties.some((p) => partyCovers(index, p, origin))
    const coversProcessing = agreement.parties.some((p) => partyCovers(index, p, processing))
    if (coversOrigin && coversProcessing) candidates.push({ agreement, entry })
  }
  if (candidates.length === 0) {
    return { ok: false, code: 'no_agreement', detail: `no agreement covers item ${item} for ${route}` }
  }

  const fitting = candidates.filter((c) => scopeFitsGeography(c.agreement.scope, geography))
  if (fitting.length === 0) {
    const found = candidates.map((c) => `${label(c.agreement)} (${c.agreement.scope})`).join(', ')
    return {
      ok: false,
      code: 'scope_mismatch',
      detail: `${route} is ${geography}, but the agreements covering item ${item} there have other scopes: ${found}`,
    }
  }

  const inForce = fitting.filter((c) => inactiveReason(c.agreement, on) === null)
  if (inForce.length === 0) {
    const why = fitting.map((c) => `${label(c.agreement)} is ${inactiveReason(c.agreement, on)}`).join('; ')
    return {
      ok: false,
      code: 'agreement_inactive',
      detail: `no agreement for item ${item} is in force on ${on}: ${why}`,
    }
  }

  const allowing = inForce.filter((c) => c.entry.modes.includes(mode))
  if (allowing.length === 0) {
    const allowed = inForce.map((c) => `${label(c.agreement)} allows ${c.entry.modes.join(', ')}`).join('; ')
    return { ok: false, code: 'mode_not_allowed', detail: `mode ${mode} is not allowed for item ${item}: ${allowed}` }
  }

  allowing.sort(
    (x, y) =>
      scopeRank(x.agreement.scope) - scopeRank(y.agreement.scope) ||
      (x.agreement.id < y.agreement.id ? -1 : x.agreement.id > y.agreement.id ? 1 : 0) ||
      y.agreement.version - x.agreement.version,
  )
  const best = allowing[0]!
  return { ok: true, match: { agreement: best.agreement, entry: best.entry, scope: best.agreement.scope, geography } }
}

/**
 * The time limit of an item handled under a match: the agreement entry's override, else the item's
 * promised limit (承诺办结时限).
 *
 * @example timeLimitFor(match, item) // { days: 5, unit: 'working_days' }
 */
export function timeLimitFor(match: RouteMatch, item: Item): TimeLimit {
  return match.entry.timeLimit ?? item.promisedLimit
}

/**
 * Problems where an agreement's scope contradicts its parties' geography (empty when consistent):
 * `cross_province` needs parties in at least two provinces; `cross_city` and `province_wide` need every
 * party in one province and at least two cities among them (a `province_wide` province party counts as
 * the cities below it); `within_city` needs every party in one city. Unknown parties are reported too.
 *
 * @example
 * checkAgreementGeography(index, { ...agreement, scope: 'within_city', parties: ['420303', '420600'] })
 * // ['within_city agreement pilot@1 has parties in 2 cities (420300, 420600); it needs one city']
 */
export function checkAgreementGeography(index: RegionIndex, agreement: Agreement): string[] {
  const problems: string[] = []
  const name = `${agreement.scope} agreement ${label(agreement)}`
  const parties = agreement.parties.filter((p) => {
    if (index.has(p)) return true
    problems.push(`${name} names unknown region ${p}`)
    return false
  })
  if (parties.length === 0) return problems

  const provinces = distinct(parties.map((p) => index.provinceOf(p)))
  const cities = distinct(
    parties.flatMap((p) => {
      // A province party of a province-wide agreement stands for its cities (a municipality has only itself).
      if (agreement.scope === 'province_wide' && index.get(p)?.level === 'province') {
        const below = index.children(p).map((c) => index.cityOf(c.code))
        if (below.length > 0) return below
      }
      return [index.cityOf(p)]
    }),
  )
  switch (agreement.scope) {
    case 'cross_province':
      if (provinces.length < 2) {
        problems.push(`${name} has parties in one province only (${provinces.join(', ')}); it needs at least two`)
      }
      break
    case 'cross_city':
    case 'province_wide':
      if (provinces.length > 1) {
        problems.push(`${name} has parties in ${provinces.length} provinces (${provinces.join(', ')}); it needs one`)
      } else if (cities.length < 2) {
        problems.push(`${name} covers one city only (${cities.join(', ')}); it needs at least two`)
      }
      break
    case 'within_city':
      if (cities.length > 1) {
        problems.push(`${name} has parties in ${cities.length} cities (${cities.join(', ')}); it needs one city`)
      }
      break
  }
  return problems
}

function distinct(values: string[]): string[] {
  return [...new Set(values)]
}
