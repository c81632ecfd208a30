import type { Scope } from '../../config/schema.js'
import type { RegionIndex } from './regions.js'

/** Where two regions sit relative to each other; what an agreement's scope must agree with. */
export type Geography = 'cross_province' | 'cross_city' | 'within_city'

/**
 * The geography of a route from `origin` to `processing`: different provinces → `cross_province`;
 * same province but a different `cityOf` → `cross_city`; the same city (or the same region) → `within_city`.
 * Throws `AppError('unknown_region')` for an unknown code.
 *
 * @example
 * geographyOf(index, '420303', '420600') // 'cross_city' (张湾区 → 襄阳市)
 * geographyOf(index, '429021', '429021') // 'within_city' (神农架林区 is its own city)
 */
export function geographyOf(index: RegionIndex, origin: string, processing: string): Geography {
  if (index.provinceOf(origin) !== index.provinceOf(processing)) return 'cross_province'
  if (index.cityOf(origin) !== index.cityOf(processing)) return 'cross_city'
  return 'within_city'
}

const FITS: Record<Scope, Geography> = {
  cross_province: 'cross_province',
  province_wide: 'cross_city',
  cross_city: 'cross_city',
  within_city: 'within_city',
}

/**
 * Whether an agreement of `scope` may authorise a route of geography `geo`. `province_wide` and
 * `cross_city` both authorise routes between two cities of one province.
 *
 * @example scopeFitsGeography('province_wide', 'cross_city') // true
 */
export function scopeFitsGeography(scope: Scope, geo: Geography): boolean {
  return FITS[scope] === geo
}

const RANK: Record<Scope, number> = { within_city: 0, cross_city: 1, province_wide: 2, cross_province: 3 }

/**
 * Specificity of a scope, most specific first: when two agreements authorise a route, the lower rank wins
 * (a 襄十随神 `cross_city` agreement is preferred over a `province_wide` one).
 *
 * @example scopeRank('cross_city') < scopeRank('province_wide') // true
 */
export function scopeRank(scope: Scope): number {
  return RANK[scope]
}
