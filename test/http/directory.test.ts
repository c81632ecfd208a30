import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

describe('GET /v1/regions', () => {
  it('lists regions and zones, filterable', async () => {
    const all = await t.admin('GET', '/v1/regions')
    expect(all.status).toBe(200)
    expect(all.body.regions.length).toBeGreaterThan(100)
    const shiyan = await t.admin('GET', '/v1/regions?parent=420300')
    const names = shiyan.body.regions.map((r: { name: string }) => r.name)
    expect(names).toEqual(expect.arrayContaining(['张湾区', '茅箭区', '十堰经济技术开发区', '武当山旅游经济特区']))
    const zones = await t.admin('GET', '/v1/regions?level=zone')
    expect(zones.body.regions.map((r: { code: string }) => r.code)).toEqual(['Z42030001', 'Z42030002'])
    const retired = await t.admin('GET', '/v1/regions?status=retired&q=郧县')
    expect(retired.body.regions).toEqual([expect.objectContaining({ code: '420321', successors: ['420304'] })])
  })

  it('reads one region with its children; 404 and 400 otherwise', async () => {
    const res = await t.admin('GET', '/v1/regions/420300')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      code: '420300',
      name: '十堰市',
      level: 'prefecture',
      parent: '420000',
      province: '420000',
    })
    expect(res.body.children.length).toBeGreaterThanOrEqual(10)
    const sng = await t.admin('GET', '/v1/regions/429021')
    expect(sng.body).toMatchObject({ name: '神农架林区', parent: '420000' })
    const missing = await t.admin('GET', '/v1/regions/999999')
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ code: 'not_found', status: 404 })
    const bad = await t.admin('GET', '/v1/regions?level=galaxy')
    expect(bad.status).toBe(400)
    expect(bad.body.errors[0].path).toBe('level')
  })
})

describe('GET /v1/items', () => {
  it('lists items with limits, materials, fields and modes; filters by department and mode', async () => {
    const all = await t.admin('GET', '/v1/items')
    expect(all.status).toBe(200)
    expect(all.body.items.length).toBeGreaterThanOrEqual(20)
    const item = all.body.items.find((i: { code: string }) => i.code === 'food-business-licence')
    expect(item).toMatchObject({
      statutoryLimit: { unit: 'working_days' },
      promisedLimit: { unit: 'working_days' },
      modes: expect.arrayContaining(['full_online']),
    })
    expect(item.materials.length).toBeGreaterThan(0)
    expect(item.formFields.length).toBeGreaterThan(0)
    const police = await t.admin('GET', '/v1/items?department=public-security&mode=offline_proxy')
    expect(police.body.items.length).toBeGreaterThanOrEqual(5)
    for (const i of police.body.items) {
      expect(i.departmentCode).toBe('public-security')
      expect(i.modes).toContain('offline_proxy')
    }
  })

  it('reads one item; 404 for an unknown code', async () => {
    expect((await t.admin('GET', '/v1/items/hukou-certificate')).body.name).toBe('开具户籍类证明')
    const missing = await t.admin('GET', '/v1/items/nope')
    expect(missing.status).toBe(404)
    expect(missing.body.code).toBe('not_found')
  })
})

describe('GET /v1/things', () => {
  it('lists bundles with lead department and named members', async () => {
    const res = await t.admin('GET', '/v1/things')
    expect(res.status).toBe(200)
    const care = res.body.things.find((x: { id: string }) => x.id === 'open-elderly-care-home')
    expect(care).toMatchObject({ name: '开养老院', leadDepartment: expect.stringContaining('民政') })
    expect(care.items.map((m: { name: string }) => m.name)).toContain('养老机构备案')
    const one = await t.admin('GET', '/v1/things/open-restaurant')
    expect(one.body).toMatchObject({ name: '我要开餐馆', leadDepartment: expect.stringContaining('市场监督') })
    expect((await t.admin('GET', '/v1/things/open-a-zoo')).status).toBe(404)
  })
})

describe('GET /v1/agreements', () => {
  it('lists active agreements, filterable by region, item and scope', async () => {
    const all = await t.admin('GET', '/v1/agreements')
    expect(all.status).toBe(200)
    expect(all.body.agreements.map((a: { id: string }) => a.id).sort()).toEqual([
      'hubei-province-wide',
      'hubei-shaanxi-henan-chongqing-kstb',
      'shiyan-within-city-pilot',
      'xiang-shi-sui-shen',
    ])
    const zone = await t.admin('GET', '/v1/agreements?region=Z42030001')
    // The zone is a party of the pilot and lies in 十堰 and 湖北, so the circle and the province agreements cover it too.
    expect(zone.body.agreements.map((a: { id: string }) => a.id).sort()).toEqual([
      'hubei-province-wide',
      'hubei-shaanxi-henan-chongqing-kstb',
      'shiyan-within-city-pilot',
      'xiang-shi-sui-shen',
    ])
    const xiangyang = await t.admin('GET', '/v1/agreements?region=420602&scope=within_city')
    expect(xiangyang.body.agreements).toEqual([])
  })

  it('reads every version of an agreement after an edit', async () => {
    const v1 = await t.admin('GET', '/v1/agreements/xiang-shi-sui-shen')
    expect(v1.status).toBe(200)
    expect(v1.body).toMatchObject({ id: 'xiang-shi-sui-shen', version: 1, scope: 'cross_city', versions: [1] })
    const { versions: _v, ...doc } = v1.body
    await t.runtime.directoryStore.addAgreementVersion({ ...doc, name: `${doc.name}（修订）` }, 'test')
    const latest = await t.admin('GET', '/v1/agreements/xiang-shi-sui-shen')
    expect(latest.body).toMatchObject({ version: 2, versions: [1, 2] })
    const old = await t.admin('GET', '/v1/agreements/xiang-shi-sui-shen?version=1')
    expect(old.body).toMatchObject({ version: 1, name: doc.name })
    expect((await t.admin('GET', '/v1/agreements/xiang-shi-sui-shen?version=9')).status).toBe(404)
    expect((await t.admin('GET', '/v1/agreements/nope')).status).toBe(404)
  })
})
