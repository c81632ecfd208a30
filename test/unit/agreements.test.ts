import { describe, expect, it } from 'vitest'
import { type Agreement, Item, type Mode } from '../../config/schema.js'
import {
  checkAgreementGeography,
  matchAgreement,
  type RouteRefusal,
  timeLimitFor,
} from '../../src/domain/agreements.js'
import { agreement, index } from './region-fixture.js'

const ALL: Mode[] = ['full_online', 'online_transfer', 'offline_proxy', 'multi_site']

const xsss = agreement({
  id: 'xiang-shi-sui-shen',
  name: '襄十随神城市群跨市通办',
  scope: 'cross_city',
  parties: ['420600', '420300', '421300', '429021'],
  items: [
    {
      item: 'food-licence',
      modes: ['full_online', 'online_transfer', 'offline_proxy'],
      timeLimit: { days: 10, unit: 'natural_days' },
    },
    { item: 'business-licence', modes: ['full_online'] },
  ],
})
const hubei = agreement({
  id: 'hubei-province-wide',
  scope: 'province_wide',
  parties: ['420000'],
  items: [{ item: 'food-licence', modes: ALL }],
  validFrom: '2023-01-01',
})
const pilot = agreement({
  id: 'shiyan-within-city-pilot',
  scope: 'within_city',
  parties: ['420303', '420302', 'Z42030001'],
  items: [{ item: 'food-licence', modes: ['full_online', 'online_transfer'] }],
})
const shaanxi = agreement({
  id: 'shiyan-ankang',
  scope: 'cross_province',
  parties: ['420300', '610900'],
  items: [{ item: 'food-licence', modes: ['full_online'] }],
})
const all = [hubei, xsss, pilot, shaanxi]

const on = '2026-03-02'
const route = (item: string, origin: string, processing: string, mode: Mode, agreements = all, date = on) =>
  matchAgreement({ index, agreements, item, origin, processing, mode, on: date })

describe('matchAgreement: authorised routes', () => {
  it.each<[string, string, string, Mode, string, string]>([
    ['food-licence', '420303', '420600', 'online_transfer', 'xiang-shi-sui-shen', 'cross_city'],
    ['food-licence', '429021', '420300', 'full_online', 'xiang-shi-sui-shen', 'cross_city'],
    ['food-licence', '420303', 'Z42030001', 'online_transfer', 'shiyan-within-city-pilot', 'within_city'],
    ['food-licence', '420303', '420302', 'full_online', 'shiyan-within-city-pilot', 'within_city'],
    // xsss does not allow multi_site, the province-wide agreement does.
    ['food-licence', '420303', '420600', 'multi_site', 'hubei-province-wide', 'cross_city'],
    ['food-licence', '420303', '610900', 'full_online', 'shiyan-ankang', 'cross_province'],
    ['business-licence', '420602', '421300', 'full_online', 'xiang-shi-sui-shen', 'cross_city'],
  ])('%s %s → %s (%s) is authorised by %s', (item, origin, processing, mode, id, geography) => {
    const result = route(item, origin, processing, mode)
    expect(result.ok, JSON.stringify(result)).toBe(true)
    if (!result.ok) return
    expect(result.match.agreement.id).toBe(id)
    expect(result.match.scope).toBe(result.match.agreement.scope)
    expect(result.match.geography).toBe(geography)
    expect(result.match.entry.item).toBe(item)
  })

  it('falls back to the province-wide agreement when the regional one is suspended', () => {
    const result = route('food-licence', '420303', '420600', 'online_transfer', [
      hubei,
      { ...xsss, status: 'suspended' },
    ])
    expect(result.ok && result.match.agreement.id).toBe('hubei-province-wide')
  })

  it('breaks a tie of equal scopes by id', () => {
    const twin = { ...xsss, id: 'a-earlier-id' }
    const result = route('food-licence', '420303', '420600', 'full_online', [xsss, twin])
    expect(result.ok && result.match.agreement.id).toBe('a-earlier-id')
  })
})

describe('matchAgreement: refusals', () => {
  const expired = { ...xsss, validTo: '2025-12-31' }
  const future = { ...xsss, validFrom: '2026-07-01' }
  const suspended = { ...xsss, status: 'suspended' as const }
  const draft = { ...pilot, status: 'draft' as const }

  it.each<[string, string, string, string, Mode, Agreement[], RouteRefusal, RegExp[]]>([
    [
      'an uncovered item',
      'unknown-item',
      '420303',
      '420600',
      'full_online',
      all,
      'no_agreement',
      [/unknown-item/, /420303 → 420600/],
    ],
    ['an uncovered region', 'food-licence', '500229', '420300', 'full_online', all, 'no_agreement', [/500229/]],
    [
      'a mode the agreement lacks',
      'food-licence',
      '420303',
      '610900',
      'offline_proxy',
      all,
      'mode_not_allowed',
      [/offline_proxy/, /shiyan-ankang@1 allows full_online$/],
    ],
    [
      'a cross-city agreement for a within-city route',
      'business-licence',
      '420303',
      '420302',
      'full_online',
      all,
      'scope_mismatch',
      [/within_city/, /xiang-shi-sui-shen@1 \(cross_city\)/],
    ],
    [
      'a suspended agreement',
      'business-licence',
      '420303',
      '420600',
      'full_online',
      [suspended],
      'agreement_inactive',
      [/xiang-shi-sui-shen@1 is suspended/],
    ],
    [
      'an expired agreement',
      'food-licence',
      '420303',
      '420600',
      'full_online',
      [expired],
      'agreement_inactive',
      [/expired \(valid to 2025-12-31\)/],
    ],
    [
      'a not yet valid agreement',
      'food-licence',
      '420303',
      '420600',
      'full_online',
      [future],
      'agreement_inactive',
      [/not yet valid \(from 2026-07-01\)/],
    ],
    [
      'a draft agreement',
      'food-licence',
      '420303',
      'Z42030001',
      'full_online',
      [draft, xsss],
      'agreement_inactive',
      [/shiyan-within-city-pilot@1 is draft/],
    ],
  ])('refuses %s', (_case, item, origin, processing, mode, agreements, code, details) => {
    const result = route(item, origin, processing, mode, agreements)
    expect(result.ok, JSON.stringify(result)).toBe(false)
    if (result.ok) return
    expect(result.code).toBe(code)
    for (const detail of details) expect(result.detail).toMatch(detail)
  })

  it('checks validity on the given date, validTo inclusive', () => {
    expect(route('food-licence', '420303', '420600', 'full_online', [expired], '2025-12-31').ok).toBe(true)
    expect(route('food-licence', '420303', '420600', 'full_online', [future], '2026-07-01').ok).toBe(true)
  })

  it('ignores a party unknown to the index instead of throwing', () => {
    const stray = { ...xsss, parties: ['999999', '420300', '420600'] }
    expect(route('food-licence', '420303', '420600', 'full_online', [stray]).ok).toBe(true)
  })
})

describe('timeLimitFor', () => {
  const item = Item.parse({
    code: 'food-licence',
    name: '食品经营许可',
    department: '市场监督管理局',
    departmentCode: 'samr',
    serviceObject: 'organization',
    statutoryLimit: { days: 20, unit: 'working_days' },
    promisedLimit: { days: 5, unit: 'working_days' },
    materials: [{ code: 'business-licence', name: '营业执照', forms: ['e_certificate'] }],
    formFields: [{ name: 'shopName', label: '店铺名称', type: 'string' }],
    modes: ['full_online'],
  })

  it("uses the agreement's override, else the item's promised limit", () => {
    const overridden = route('food-licence', '420303', '420600', 'full_online')
    const plain = route('food-licence', '420303', 'Z42030001', 'full_online')
    if (!overridden.ok || !plain.ok) throw new Error('expected matches')
    expect(timeLimitFor(overridden.match, item)).toEqual({ days: 10, unit: 'natural_days' })
    expect(timeLimitFor(plain.match, item)).toEqual({ days: 5, unit: 'working_days' })
  })
})

describe('checkAgreementGeography', () => {
  it.each<[string, Agreement, RegExp | null]>([
    ['襄十随神 cross_city', xsss, null],
    ['a province party province-wide', hubei, null],
    ['the within-city pilot', pilot, null],
    ['a cross-province pair', shaanxi, null],
    [
      'cross_province within one province',
      { ...shaanxi, parties: ['420300', '420600'] },
      /one province only \(420000\)/,
    ],
    ['cross_city across provinces', { ...xsss, parties: ['420300', '610900'] }, /2 provinces/],
    ['cross_city within one city', { ...xsss, parties: ['420302', '420303'] }, /one city only \(420300\)/],
    ['province_wide of a municipality', { ...hubei, parties: ['500000'] }, /one city only \(500000\)/],
    ['within_city across cities', { ...pilot, parties: ['420303', '420600'] }, /2 cities \(420300, 420600\)/],
    ['an unknown party', { ...pilot, parties: ['420303', '999999'] }, /unknown region 999999/],
  ])('%s', (_case, subject, problem) => {
    const problems = checkAgreementGeography(index, subject)
    if (problem === null) expect(problems).toEqual([])
    else {
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(problem)
    }
  })
})
