import { describe, expect, it } from 'vitest'
import type { Scope } from '../../config/schema.js'
import { type Geography, geographyOf, scopeFitsGeography, scopeRank } from '../../src/domain/scope.js'
import { index } from './region-fixture.js'

describe('geographyOf', () => {
  it.each<[string, string, Geography]>([
    ['420303', '420600', 'cross_city'],
    ['420303', '420302', 'within_city'],
    ['420303', 'Z42030001', 'within_city'],
    ['Z42030001', 'Z42030002', 'within_city'],
    ['420303', '420303', 'within_city'],
    ['429021', '420300', 'cross_city'],
    ['429021', '429021', 'within_city'],
    ['420303', '610900', 'cross_province'],
    ['500229', '420300', 'cross_province'],
    ['500229', '500000', 'within_city'],
    ['420602', '421300', 'cross_city'],
  ])('%s → %s is %s', (origin, processing, expected) => {
    expect(geographyOf(index, origin, processing)).toBe(expected)
  })

  it('throws for an unknown region', () => {
    expect(() => geographyOf(index, '420303', '999999')).toThrow(/999999/)
  })
})

describe('scopeFitsGeography', () => {
  const fits: Record<Scope, Geography[]> = {
    cross_province: ['cross_province'],
    province_wide: ['cross_city'],
    cross_city: ['cross_city'],
    within_city: ['within_city'],
  }
  const geographies: Geography[] = ['cross_province', 'cross_city', 'within_city']
  const table = Object.entries(fits).flatMap(([scope, ok]) =>
    geographies.map((geo) => [scope as Scope, geo, ok.includes(geo)] as const),
  )

  it.each(table)('%s fits %s: %s', (scope, geo, expected) => {
    expect(scopeFitsGeography(scope, geo)).toBe(expected)
  })
})

describe('scopeRank', () => {
  it('orders scopes most specific first', () => {
    const scopes: Scope[] = ['cross_province', 'province_wide', 'within_city', 'cross_city']
    expect([...scopes].sort((a, b) => scopeRank(a) - scopeRank(b))).toEqual([
      'within_city',
      'cross_city',
      'province_wide',
      'cross_province',
    ])
    expect(scopeRank('within_city')).toBe(0)
    expect(scopeRank('cross_province')).toBe(3)
  })
})
