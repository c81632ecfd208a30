import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouSpouse } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

const id = 'xiang-shi-sui-shen'
let t: TestApp
let op: Awaited<ReturnType<TestApp['operator']>>

beforeAll(async () => {
  t = await createTestApp()
  op = await t.operator('420303', 'ZW-KSTB-01', '李窗口')
  // 湖北 province-wide covers the same items: suspended, so that 襄十随神 alone routes 十堰 → 襄阳.
  const res = await t.admin('POST', '/v1/admin/agreements/hubei-province-wide/versions/1/suspend')
  expect(res.status, JSON.stringify(res.body)).toBe(200)
})
afterAll(async () => {
  await t?.close()
})

async function current() {
  const res = await t.admin('GET', `/v1/admin/agreements/${id}/versions`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.versions.at(-1).agreement
}

/** The agreement without `mode` for `item`. */
function withoutMode(doc: any, item: string, mode: string) {
  return {
    ...doc,
    items: doc.items.map((e: any) =>
      e.item === item ? { ...e, modes: e.modes.filter((m: string) => m !== mode) } : e,
    ),
  }
}

describe('admin agreements', () => {
  it('lists every agreement with its versions and the one in force', async () => {
    const res = await t.admin('GET', '/v1/admin/agreements')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const xs = res.body.agreements.find((a: any) => a.id === id)
    expect(xs).toMatchObject({ inForce: 1, scope: 'cross_city', versions: [{ version: 1, status: 'active' }] })
  })

  it('refuses people who are not admins, and unknown agreements', async () => {
    expect((await op.call('GET', '/v1/admin/agreements')).status).toBe(403)
    expect((await op.call('POST', `/v1/admin/agreements/${id}/versions`, { agreement: {} })).status).toBe(403)
    expect((await t.call('GET', '/v1/admin/agreements')).status).toBe(401)
    expect((await t.admin('GET', '/v1/admin/agreements/no-such/versions')).status).toBe(404)
  })

  it('checks an edit exactly as config check does, listing every problem', async () => {
    const doc = await current()
    const bad = {
      ...doc,
      parties: [...doc.parties, '999999'],
      items: [...doc.items, { item: 'no-such-item', modes: ['full_online'] }],
      validTo: '2020-01-01',
    }
    const res = await t.admin('POST', `/v1/admin/agreements/${id}/versions`, { agreement: bad })
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(res.body.code).toBe('rule_violation')
    const messages = res.body.errors.map((e: any) => `${e.path}: ${e.message}`)
    expect(messages).toContain('parties[4]: unknown region "999999"')
    expect(messages).toContain(`items[${doc.items.length}].item: unknown item "no-such-item"`)
    expect(messages.some((m: string) => m.startsWith('validTo: validTo 2020-01-01 is before'))).toBe(true)

    const schema = await t.admin('POST', `/v1/admin/agreements/${id}/versions`, {
      agreement: { ...doc, scope: 'everywhere' },
    })
    expect(schema.status).toBe(422)
    expect(schema.body.errors[0].path).toBe('scope')
    // a mode the item does not support
    const mode = await t.admin('POST', `/v1/admin/agreements/${id}/versions`, {
      agreement: {
        ...doc,
        items: doc.items.map((e: any) => (e.item === 'hukou-transfer-work' ? { ...e, modes: ['multi_site'] } : e)),
      },
    })
    expect(mode.status).toBe(422)
    expect(mode.body.errors[0].message).toMatch(/does not support mode multi_site/)
    expect((await t.admin('GET', `/v1/admin/agreements/${id}/versions`)).body.versions).toHaveLength(1)
  })

  it('a new version is a draft until activated; cases keep the version they were routed under', async () => {
    const first = await op.call('POST', '/v1/cases', hukouSpouse(), { 'idempotency-key': 'agreements-1' })
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(first.body.case.agreement).toEqual({ id, version: 1 })

    const doc = await current()
    const created = await t.admin('POST', `/v1/admin/agreements/${id}/versions`, {
      agreement: withoutMode(doc, 'hukou-transfer-spouse', 'online_transfer'),
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ version: 2, status: 'draft', inForce: false, createdBy: expect.any(String) })

    const diff = await t.admin('GET', `/v1/admin/agreements/${id}/diff?from=1&to=2`)
    expect(diff.status, JSON.stringify(diff.body)).toBe(200)
    expect(diff.body.changes).toEqual([
      {
        path: 'items[hukou-transfer-spouse].modes',
        kind: 'changed',
        before: ['online_transfer', 'offline_proxy'],
        after: ['offline_proxy'],
      },
    ])

    // The draft routes nothing yet.
    const still = await op.call('POST', '/v1/cases', hukouSpouse(), { 'idempotency-key': 'agreements-2' })
    expect(still.status, JSON.stringify(still.body)).toBe(201)
    expect(still.body.case.agreement).toEqual({ id, version: 1 })

    const activated = await t.admin('POST', `/v1/admin/agreements/${id}/versions/2/activate`)
    expect(activated.status, JSON.stringify(activated.body)).toBe(200)
    expect(activated.body).toMatchObject({ version: 2, status: 'active', inForce: true })
    const versions = (await t.admin('GET', `/v1/admin/agreements/${id}/versions`)).body.versions
    expect(versions.map((v: any) => [v.version, v.status, v.inForce])).toEqual([
      [1, 'retired', false],
      [2, 'active', true],
    ])

    const refused = await op.call('POST', '/v1/cases', hukouSpouse(), { 'idempotency-key': 'agreements-3' })
    expect(refused.status, JSON.stringify(refused.body)).toBe(422)
    expect(refused.body.code).toBe('mode_not_allowed')
    const offline = await op.call('POST', '/v1/cases', hukouSpouse({ mode: 'offline_proxy' }), {
      'idempotency-key': 'agreements-4',
    })
    expect(offline.status, JSON.stringify(offline.body)).toBe(201)
    expect(offline.body.case.agreement).toEqual({ id, version: 2 })

    const earlier = await op.call('GET', `/v1/cases/${first.body.case.id}`)
    expect(earlier.body.agreement).toEqual({ id, version: 1 })
  })

  it('refuses a status change the version does not allow; suspension stops new cases', async () => {
    const again = await t.admin('POST', `/v1/admin/agreements/${id}/versions/1/suspend`)
    expect(again.status).toBe(409)
    expect(again.body.currentStatus).toBe('retired')
    expect((await t.admin('POST', `/v1/admin/agreements/${id}/versions/9/activate`)).status).toBe(404)

    expect((await t.admin('POST', `/v1/admin/agreements/${id}/versions/2/suspend`)).status).toBe(200)
    const refused = await op.call('POST', '/v1/cases', hukouSpouse({ mode: 'offline_proxy' }), {
      'idempotency-key': 'agreements-5',
    })
    expect(refused.status, JSON.stringify(refused.body)).toBe(422)
    expect(refused.body.code).toBe('agreement_inactive')
    expect((await t.admin('POST', `/v1/admin/agreements/${id}/versions/2/activate`)).status).toBe(200)
  })

  it('is in the OpenAPI document', async () => {
    const doc = (await t.call('GET', '/openapi.json')).body
    for (const p of [
      '/v1/admin/agreements',
      '/v1/admin/agreements/{id}/versions',
      '/v1/admin/agreements/{id}/diff',
      '/v1/admin/agreements/{id}/versions/{version}/activate',
    ]) {
      expect(doc.paths[p], p).toBeDefined()
    }
  })
})
