import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResolvedRouteOut } from '../../src/http/routes/routes/resolve.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

// A Tuesday, the day before the 2026 National Day holiday (Oct 1–7 off, Sat Oct 10 a working day).
const now = '2026-09-29T09:00:00+08:00'
let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ now })
})
afterAll(async () => {
  await t?.close()
})

const resolve = (body: unknown, headers?: Record<string, string>) =>
  t.admin('POST', '/v1/routes/resolve', body, headers)

describe('POST /v1/routes/resolve: answers', () => {
  it('cross_city under 襄十随神 from 张湾区 to 襄阳市, due across National Day', async () => {
    const res = await resolve({
      item: 'hukou-transfer-spouse',
      originRegion: '420303',
      processingRegion: '420600',
      mode: 'online_transfer',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const body = ResolvedRouteOut.parse(res.body)
    expect(body.scope).toBe('cross_city')
    expect(body.agreement).toEqual({ id: 'xiang-shi-sui-shen', version: 1, name: expect.any(String) })
    // 7 working days from Tue 29 Sep: 30 Sep, 8, 9, 10 (调休 Saturday), 12, 13, 14 Oct.
    expect(body.routes[0]?.timeLimit).toEqual({ days: 7, unit: 'working_days' })
    expect(body.dueDate).toBe('2026-10-14')
    expect(body.dueAt).toBe('2026-10-14T15:59:59.999Z')
    const codes = body.checklist.materials.map((m) => m.code)
    expect(codes).toContain('applicant-id-card')
    expect(body.checklist.materials.find((m) => m.code === 'applicant-id-card')?.eCertificate).toBe('居民身份证')
    expect(body.checklist.formFields.map((f) => f.name)).toContain('applicantName')
  })

  it('within_city from 张湾区 to 茅箭区 and to the 经开区 zone, under the pilot', async () => {
    const toMaojian = await resolve({
      item: 'hukou-transfer-spouse',
      originRegion: '420303',
      processingRegion: '420302',
      mode: 'online_transfer',
    })
    expect(toMaojian.status, JSON.stringify(toMaojian.body)).toBe(200)
    expect(toMaojian.body).toMatchObject({
      scope: 'within_city',
      agreement: { id: 'shiyan-within-city-pilot', version: 1 },
      // 5 working days: 30 Sep, 8, 9, 10, 12 Oct.
      dueDate: '2026-10-12',
    })
    const toZone = await resolve({
      item: 'food-business-licence',
      originRegion: '420303',
      processingRegion: 'Z42030001',
      mode: 'full_online',
    })
    expect(toZone.status, JSON.stringify(toZone.body)).toBe(200)
    expect(toZone.body).toMatchObject({
      scope: 'within_city',
      agreement: { id: 'shiyan-within-city-pilot' },
      dueDate: '2026-10-09',
    })
  })

  it('cross_province under the cross-province agreement', async () => {
    const res = await resolve({
      item: 'hukou-transfer-spouse',
      originRegion: '420303',
      processingRegion: '610900',
      mode: 'online_transfer',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ scope: 'cross_province', agreement: { id: 'hubei-shaanxi-henan-chongqing-kstb' } })
  })

  it('神农架林区 counts as its own city: cross_city to 十堰', async () => {
    const res = await resolve({
      item: 'hukou-certificate',
      originRegion: '429021',
      processingRegion: '420300',
      mode: 'full_online',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ scope: 'cross_city', agreement: { id: 'xiang-shi-sui-shen' } })
  })

  it('a one-thing bundle: every member routed, materials asked once', async () => {
    const res = await resolve({ thing: 'open-elderly-care-home', originRegion: '420303', mode: 'online_transfer' })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const body = ResolvedRouteOut.parse(res.body)
    expect(body.kind).toBe('thing')
    expect(body.routes).toHaveLength(5)
    expect(body.refused).toEqual([])
    const ids = body.checklist.materials.filter((m) => m.code === 'legal-rep-id')
    expect(ids).toHaveLength(1)
    expect(ids[0]?.items.length).toBeGreaterThan(1)
    expect(
      body.dueDate >=
        (body.routes
          .map((r) => r.dueDate)
          .sort()
          .at(-1) as string),
    ).toBe(true)
  })
})

describe('POST /v1/routes/resolve: refusals', () => {
  it.each([
    [
      'no_agreement: an item no agreement covers between the two regions',
      {
        item: 'medical-institution-practice-registration',
        originRegion: '420303',
        processingRegion: '420600',
        mode: 'online_transfer',
      },
      'no_agreement',
    ],
    [
      'no_agreement: a province outside every agreement',
      { item: 'hukou-transfer-spouse', originRegion: '420303', processingRegion: '440100', mode: 'online_transfer' },
      'no_agreement',
    ],
    [
      'mode_not_allowed: multi_site is in no agreement for this pair',
      {
        item: 'individual-business-registration',
        originRegion: '420303',
        processingRegion: '420600',
        mode: 'multi_site',
      },
      'mode_not_allowed',
    ],
    [
      'scope_mismatch: two Shiyan districts outside the pilot, only cross_city/province_wide agreements cover them',
      { item: 'hukou-transfer-spouse', originRegion: '420303', processingRegion: '420304', mode: 'online_transfer' },
      'scope_mismatch',
    ],
    [
      'region_retired: 郧县 names its successor',
      { item: 'hukou-transfer-spouse', originRegion: '420321', processingRegion: '420600', mode: 'online_transfer' },
      'region_retired',
    ],
    [
      'unknown_region',
      { item: 'hukou-transfer-spouse', originRegion: '429999', processingRegion: '420600', mode: 'online_transfer' },
      'unknown_region',
    ],
    [
      'unknown_item',
      { item: 'no-such-item', originRegion: '420303', processingRegion: '420600', mode: 'online_transfer' },
      'unknown_item',
    ],
    ['unknown_thing', { thing: 'open-a-zoo', originRegion: '420303', mode: 'online_transfer' }, 'unknown_thing'],
  ])('%s', async (_name, body, code) => {
    const res = await resolve(body)
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(res.body).toMatchObject({ code, status: 422, type: expect.stringContaining(code.replaceAll('_', '-')) })
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'))
  })

  it('mode_not_allowed lists the allowed modes; region_retired names the successor', async () => {
    const mode = await resolve({
      item: 'individual-business-registration',
      originRegion: '420303',
      processingRegion: '420600',
      mode: 'multi_site',
    })
    expect(mode.body.detail).toMatch(/online_transfer/)
    const retired = await resolve({
      item: 'hukou-transfer-spouse',
      originRegion: '420321',
      processingRegion: '420600',
      mode: 'online_transfer',
    })
    expect(retired.body.detail).toMatch(/420304/)
  })

  it('agreement_inactive when the only fitting agreement is suspended, and back once active', async () => {
    const body = {
      item: 'hukou-transfer-spouse',
      originRegion: '420303',
      processingRegion: '420302',
      mode: 'online_transfer',
    }
    await t.runtime.directoryStore.setAgreementStatus('shiyan-within-city-pilot', 1, 'suspended', 'test')
    t.runtime.deps.directory.invalidate()
    try {
      const res = await resolve(body)
      expect(res.status, JSON.stringify(res.body)).toBe(422)
      expect(res.body.code).toBe('agreement_inactive')
      expect(res.body.detail).toMatch(/suspended/)
    } finally {
      await t.runtime.directoryStore.setAgreementStatus('shiyan-within-city-pilot', 1, 'active', 'test')
      t.runtime.deps.directory.invalidate()
    }
    expect((await resolve(body)).status).toBe(200)
  })
})

describe('POST /v1/routes/resolve: malformed requests', () => {
  it.each([
    ['a missing mode', { item: 'hukou-certificate', originRegion: '420303', processingRegion: '420600' }, 'mode'],
    [
      'an unknown field',
      {
        item: 'hukou-certificate',
        originRegion: '420303',
        processingRegion: '420600',
        mode: 'full_online',
        colour: 'red',
      },
      '',
    ],
    [
      'both item and thing',
      {
        item: 'hukou-certificate',
        thing: 'open-restaurant',
        originRegion: '420303',
        processingRegion: '420600',
        mode: 'full_online',
      },
      'item',
    ],
    [
      'item without processingRegion',
      { item: 'hukou-certificate', originRegion: '420303', mode: 'full_online' },
      'processingRegion',
    ],
    [
      'a malformed region code',
      { item: 'hukou-certificate', originRegion: '4203', processingRegion: '420600', mode: 'full_online' },
      'originRegion',
    ],
    [
      'an unknown mode',
      { item: 'hukou-certificate', originRegion: '420303', processingRegion: '420600', mode: 'by_pigeon' },
      'mode',
    ],
  ])('400 for %s, with errors[].path', async (_name, body, path) => {
    const res = await resolve(body)
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.code).toBe('validation_failed')
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path)
  })

  it('400 for malformed JSON, 415 for another media type, 413 for a body over the limit', async () => {
    const bad = await resolve('{"item": ')
    expect(bad.status).toBe(400)
    expect(bad.body.code).toBe('bad_request')
    const text = await resolve('item=x', { 'content-type': 'text/plain' })
    expect(text.status).toBe(415)
    expect(text.body.code).toBe('unsupported_media_type')
    const big = await resolve({
      item: 'x'.repeat(70 * 1024),
      originRegion: '420303',
      processingRegion: '420600',
      mode: 'full_online',
    })
    expect(big.status).toBe(413)
    expect(big.body.code).toBe('payload_too_large')
  })

  it('checks a declared Content-Length against the limit before reading the body', async () => {
    const body = JSON.stringify({
      item: 'hukou-certificate',
      originRegion: '420303',
      processingRegion: '420600',
      mode: 'full_online',
    })
    const over = await resolve(body, { 'content-length': String(65 * 1024) })
    expect(over.status).toBe(413)
    expect(over.body.code).toBe('payload_too_large')
    const within = await resolve(body, { 'content-length': String(Buffer.byteLength(body)) })
    expect(within.status, JSON.stringify(within.body)).toBe(200)
  })
})
