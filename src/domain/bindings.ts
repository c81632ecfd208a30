/**
 * Which binding serves a region: the one of the region itself, else of its nearest ancestor (zones
 * included), else the default binding `*`.
 */
import type { Binding } from '../../config/schema.js'
import type { RegionIndex } from './regions.js'

export function bindingFor(region: string, bindings: readonly Binding[], index: RegionIndex): Binding | null {
  const byRegion = new Map(bindings.map((b) => [b.region, b]))
  if (index.has(region)) {
    for (const r of index.lineage(region)) {
      const b = byRegion.get(r.code)
      if (b) return b
    }
  } else {
    const exact = byRegion.get(region)
    if (exact) return exact
  }
  return byRegion.get('*') ?? null
}
