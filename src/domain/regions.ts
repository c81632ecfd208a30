import type { Region } from '../../config/schema.js'
import { AppError } from '../errors.js'

/** Province-level municipalities (直辖市): their counties belong to no prefecture, so the municipality is their city. */
const MUNICIPALITIES = new Set(['110000', '120000', '310000', '500000'])

/** Parent chains longer than this mean a cycle in the data (province → prefecture → county → zone is 4). */
const MAX_DEPTH = 16

/**
 * An in-memory index of regions and functional zones (retired codes included), answering the
 * hierarchy questions routing needs. Codes are unique: the loader drops a retired code that is also active.
 *
 * `get` and `has` accept any string; every other method throws `AppError('unknown_region')` for a code
 * it does not know.
 *
 * @example
 * const index = new RegionIndex(directory.regions)
 * index.covers('420300', 'Z42030001') // true: the zone's parent is 十堰市
 * index.cityOf('420303') // '420300'
 */
export class RegionIndex {
  readonly #byCode = new Map<string, Region>()
  readonly #children = new Map<string, Region[]>()

  constructor(regions: Region[]) {
    for (const region of regions) this.#byCode.set(region.code, region)
    for (const region of this.#byCode.values()) {
      if (region.parent === null) continue
      const siblings = this.#children.get(region.parent)
      if (siblings) siblings.push(region)
      else this.#children.set(region.parent, [region])
    }
  }

  /** The region with this code or zone id, or undefined. */
  get(code: string): Region | undefined {
    return this.#byCode.get(code)
  }

  /** Every known code (active or retired). */
  codes(): string[] {
    return [...this.#byCode.keys()]
  }

  /** Whether the code is known (active or retired). */
  has(code: string): boolean {
    return this.#byCode.has(code)
  }

  /**
   * The region and its ancestors, nearest first: `[self, parent, …, province]`.
   * A parent missing from the index ends the chain (the loader's cross-check reports such rows).
   *
   * @example index.lineage('Z42030001').map((r) => r.code) // ['Z42030001', '420300', '420000']
   */
  lineage(code: string): Region[] {
    const chain = [this.#require(code)]
    let current = chain[0]
    while (current?.parent != null && chain.length < MAX_DEPTH) {
      const parent = this.#byCode.get(current.parent)
      if (!parent || chain.includes(parent)) break
      chain.push(parent)
      current = parent
    }
    return chain
  }

  /**
   * Whether `code` is `ancestor` itself or one of its descendants (zones included).
   *
   * @example index.covers('420000', '420303') // true
   */
  covers(ancestor: string, code: string): boolean {
    this.#require(ancestor)
    return this.lineage(code).some((r) => r.code === ancestor)
  }

  /**
   * The prefecture-level unit a region belongs to, the unit that decides "same city" for scopes:
   * a county → its prefecture; a prefecture or province → itself; a county-level unit directly under a
   * province (神农架林区 429021) → itself; a county of a municipality (城口县 500229) → the municipality;
   * a zone → the city of its parent.
   *
   * @example index.cityOf('Z42030001') // '420300'
   */
  cityOf(code: string): string {
    const region = this.#require(code)
    switch (region.level) {
      case 'province':
      case 'prefecture':
        return region.code
      case 'zone':
        return region.parent !== null && this.#byCode.has(region.parent) ? this.cityOf(region.parent) : region.code
      case 'county': {
        const parent = region.parent === null ? undefined : this.#byCode.get(region.parent)
        if (!parent) return region.code
        if (parent.level === 'province') return MUNICIPALITIES.has(parent.code) ? parent.code : region.code
        return parent.level === 'prefecture' ? parent.code : this.cityOf(parent.code)
      }
    }
  }

  /**
   * The province code (xx0000) of a region.
   *
   * @example index.provinceOf('Z42030001') // '420000'
   */
  provinceOf(code: string): string {
    const region = this.#require(code)
    if (region.province) return region.province
    const root = this.lineage(code).at(-1)
    return root ? root.code : region.code
  }

  /**
   * The direct children (zones and retired codes included), in the order the regions were given.
   *
   * @example index.children('420300').map((r) => r.code) // ['420302', '420303', …, 'Z42030001']
   */
  children(code: string): Region[] {
    this.#require(code)
    return [...(this.#children.get(code) ?? [])]
  }

  #require(code: string): Region {
    const region = this.#byCode.get(code)
    if (!region) throw new AppError('unknown_region', `unknown region code ${code}`, { context: { region: code } })
    return region
  }
}

export type UsableRegion =
  | { ok: true; region: Region }
  | { ok: false; code: 'unknown_region' | 'region_retired'; detail: string }

/**
 * Whether a code may be used for a new case: known and not retired. A retired code's detail names
 * its successors, and the year it was retired when the region carries a `retired:<year>` tag.
 *
 * @example
 * usableRegion(index, '420321')
 * // { ok: false, code: 'region_retired', detail: '420321 郧县 was retired in 2014; use 420304 郧阳区' }
 */
export function usableRegion(index: RegionIndex, code: string): UsableRegion {
  const region = index.get(code)
  if (!region) return { ok: false, code: 'unknown_region', detail: `unknown region code ${code}` }
  if (region.status === 'active') return { ok: true, region }
  const year = region.tags.map((t) => /^retired[:-](\d{4})$/.exec(t)?.[1]).find((y) => y !== undefined)
  const retired = `${region.code} ${region.name} was retired${year ? ` in ${year}` : ''}`
  const successors = region.successors.map((s) => {
    const successor = index.get(s)
    return successor ? `${s} ${successor.name}` : s
  })
  const detail =
    successors.length > 0 ? `${retired}; use ${successors.join(' or ')}` : `${retired}; it has no successor`
  return { ok: false, code: 'region_retired', detail }
}
