import { describe, expect, it } from 'vitest'
import { RegionIndex, usableRegion } from '../../src/domain/regions.js'
import { AppError } from '../../src/errors.js'
import { index } from './region-fixture.js'

describe('RegionIndex', () => {
  it('gets known codes and zone ids, and undefined for unknown ones', () => {
    expect(index.get('420303')?.name).toBe('张湾区')
    expect(index.get('Z42030001')?.name).toBe('十堰经济技术开发区')
    expect(index.get('999999')).toBeUndefined()
    expect(index.has('420321')).toBe(true)
    expect(index.has('420100')).toBe(false)
  })

  it.each([
    ['420303', ['420303', '420300', '420000']],
    ['Z42030001', ['Z42030001', '420300', '420000']],
    ['429021', ['429021', '420000']],
    ['500229', ['500229', '500000']],
    ['420000', ['420000']],
  ])('lineage(%s) is self, parent, …, province', (code, expected) => {
    expect(index.lineage(code).map((r) => r.code)).toEqual(expected)
  })

  it.each([
    ['420300', '420303', true],
    ['420300', '420300', true],
    ['420300', 'Z42030001', true],
    ['420000', 'Z42030002', true],
    ['420000', '429021', true],
    ['420300', '420321', true],
    ['420303', 'Z42030001', false],
    ['420300', '420602', false],
    ['420300', '420000', false],
    ['420303', '420302', false],
    ['610000', '420303', false],
    ['500000', '500229', true],
  ])('covers(%s, %s) is %s', (ancestor, code, expected) => {
    expect(index.covers(ancestor, code)).toBe(expected)
  })

  it.each([
    ['420303', '420300'],
    ['420300', '420300'],
    ['429021', '429021'],
    ['Z42030001', '420300'],
    ['Z42030002', '420300'],
    ['500229', '500000'],
    ['500000', '500000'],
    ['420000', '420000'],
    ['420602', '420600'],
    ['420321', '420300'],
  ])('cityOf(%s) is %s', (code, city) => {
    expect(index.cityOf(code)).toBe(city)
  })

  it.each([
    ['Z42030001', '420000'],
    ['429021', '420000'],
    ['500229', '500000'],
    ['610900', '610000'],
    ['420000', '420000'],
  ])('provinceOf(%s) is %s', (code, province) => {
    expect(index.provinceOf(code)).toBe(province)
  })

  it('lists direct children, zones and retired codes included', () => {
    expect(index.children('420300').map((r) => r.code)).toEqual([
      '420302',
      '420303',
      '420304',
      'Z42030001',
      'Z42030002',
      '420321',
    ])
    expect(index.children('420000').map((r) => r.code)).toEqual(['420300', '420600', '421300', '429021'])
    expect(index.children('420303')).toEqual([])
  })

  it.each([
    ['lineage', () => index.lineage('999999')],
    ['covers (code)', () => index.covers('420000', '999999')],
    ['covers (ancestor)', () => index.covers('999999', '420303')],
    ['cityOf', () => index.cityOf('999999')],
    ['provinceOf', () => index.provinceOf('999999')],
    ['children', () => index.children('999999')],
  ])('%s throws unknown_region naming the code', (_name, call) => {
    expect(call).toThrow(AppError)
    expect(call).toThrow(/999999/)
    try {
      call()
    } catch (e) {
      expect((e as AppError).code).toBe('unknown_region')
    }
  })

  it('survives a parent cycle in bad data', () => {
    const broken = new RegionIndex([
      {
        code: '110101',
        name: 'a',
        level: 'county',
        parent: '110102',
        province: '',
        status: 'active',
        successors: [],
        tags: [],
      },
      {
        code: '110102',
        name: 'b',
        level: 'county',
        parent: '110101',
        province: '',
        status: 'active',
        successors: [],
        tags: [],
      },
    ])
    expect(broken.lineage('110101').map((r) => r.code)).toEqual(['110101', '110102'])
  })
})

describe('usableRegion', () => {
  it('accepts an active region and a zone', () => {
    expect(usableRegion(index, '420303')).toMatchObject({ ok: true, region: { code: '420303' } })
    expect(usableRegion(index, 'Z42030002')).toMatchObject({ ok: true, region: { name: '武当山旅游经济特区' } })
  })

  it('refuses a retired code, naming its successor', () => {
    expect(usableRegion(index, '420321')).toEqual({
      ok: false,
      code: 'region_retired',
      detail: '420321 郧县 was retired in 2014; use 420304 郧阳区',
    })
  })

  it('refuses a retired code without a year tag or successors', () => {
    const other = new RegionIndex([
      {
        code: '421302',
        name: '曾都区',
        level: 'county',
        parent: null,
        province: '420000',
        status: 'retired',
        successors: [],
        tags: [],
      },
    ])
    expect(usableRegion(other, '421302')).toEqual({
      ok: false,
      code: 'region_retired',
      detail: '421302 曾都区 was retired; it has no successor',
    })
  })

  it('refuses an unknown code', () => {
    expect(usableRegion(index, '420100')).toEqual({
      ok: false,
      code: 'unknown_region',
      detail: 'unknown region code 420100',
    })
  })
})
