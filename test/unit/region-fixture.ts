import type { Agreement, Region } from '../../config/schema.js'
import { RegionIndex } from '../../src/domain/regions.js'

/** Real GB/T 2260 rows (data/admin-divisions.csv, admin-divisions-history.csv) and the two minted zones. */
const rows: [code: string, name: string, level: Region['level'], parent: string | null][] = [
  ['420000', '湖北省', 'province', null],
  ['420300', '十堰市', 'prefecture', '420000'],
  ['420302', '茅箭区', 'county', '420300'],
  ['420303', '张湾区', 'county', '420300'],
  ['420304', '郧阳区', 'county', '420300'],
  ['420600', '襄阳市', 'prefecture', '420000'],
  ['420602', '襄城区', 'county', '420600'],
  ['421300', '随州市', 'prefecture', '420000'],
  ['429021', '神农架林区', 'county', '420000'],
  ['610000', '陕西省', 'province', null],
  ['610900', '安康市', 'prefecture', '610000'],
  ['500000', '重庆市', 'province', null],
  ['500229', '城口县', 'county', '500000'],
  ['Z42030001', '十堰经济技术开发区', 'zone', '420300'],
  ['Z42030002', '武当山旅游经济特区', 'zone', '420300'],
]

export const regions: Region[] = [
  ...rows.map(([code, name, level, parent]) => ({
    code,
    name,
    level,
    parent,
    province: level === 'zone' ? `${code.slice(1, 3)}0000` : `${code.slice(0, 2)}0000`,
    status: 'active' as const,
    successors: [],
    tags: [],
  })),
  {
    code: '420321',
    name: '郧县',
    level: 'county',
    parent: '420300',
    province: '420000',
    status: 'retired',
    successors: ['420304'],
    tags: ['retired:2014'],
  },
]

export const index = new RegionIndex(regions)

/** An active, open-ended agreement with the given fields. */
export function agreement(
  fields: Partial<Agreement> & Pick<Agreement, 'id' | 'scope' | 'parties' | 'items'>,
): Agreement {
  return {
    version: 1,
    name: fields.id,
    validFrom: '2024-01-01',
    validTo: null,
    status: 'active',
    retryPolicy: { attempts: 5, backoffMs: 1000, maxAgeHours: 24 },
    minTrust: 'B',
    warnAtPercent: 80,
    ...fields,
  }
}
