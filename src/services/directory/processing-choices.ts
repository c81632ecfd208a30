/**
 * Where a case of an item may be processed from an origin, as a person picks it: every active region that an
 * agreement in force allows for the item and origin in at least one of the item's modes, grouped by province
 * and city. Retired codes are never offered (an API caller naming one still gets `region_retired` with its
 * successor); the origin itself is left out.
 */
import { matchAgreement } from '../../domain/agreements.js'
import { cstDate } from '../../domain/calendar.js'
import type { DirectorySnapshot } from './snapshot.js'

export interface ChoiceGroup {
  province: { code: string; name: string }
  city: { code: string; name: string }
  regions: { code: string; name: string; level: string }[]
}

const levelOrder: Record<string, number> = { province: 0, prefecture: 1, county: 2, zone: 3 }

/** @example processingChoices(snap, 'hukou-transfer-spouse', '420303', now) // [{ province: 湖北省, city: 襄阳市, regions: […] }, …] */
export function processingChoices(snap: DirectorySnapshot, item: string, origin: string, at: Date): ChoiceGroup[] {
  const entry = snap.items.get(item)
  if (!entry || !snap.regions.has(origin)) return []
  const on = cstDate(at)
  const agreements = [...snap.agreements.values()]
  const groups = new Map<string, ChoiceGroup>()
  for (const region of snap.directory.regions) {
    if (region.status !== 'active' || region.code === origin) continue
    const allowed = entry.modes.some(
      (mode) => matchAgreement({ index: snap.regions, agreements, item, origin, processing: region.code, mode, on }).ok,
    )
    if (!allowed) continue
    const provinceCode = snap.regions.provinceOf(region.code)
    const cityCode = snap.regions.cityOf(region.code)
    const name = (code: string) => snap.regions.get(code)?.name ?? code
    const key = `${provinceCode}/${cityCode}`
    let group = groups.get(key)
    if (!group) {
      group = {
        province: { code: provinceCode, name: name(provinceCode) },
        city: { code: cityCode, name: name(cityCode) },
        regions: [],
      }
      groups.set(key, group)
    }
    group.regions.push({ code: region.code, name: region.name, level: region.level })
  }
  const sorted = [...groups.values()].sort(
    (a, b) => a.province.code.localeCompare(b.province.code) || a.city.code.localeCompare(b.city.code),
  )
  for (const g of sorted) {
    g.regions.sort((a, b) => (levelOrder[a.level] ?? 9) - (levelOrder[b.level] ?? 9) || a.code.localeCompare(b.code))
  }
  return sorted
}
