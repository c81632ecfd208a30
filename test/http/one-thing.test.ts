/**
 * 一事联办 over HTTP: the one-time notice and the one form of a bundle, files submitted once, 容缺 acceptance
 * with materials outstanding, and joint inspections that suspend and resume several children together.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResolvedRouteOut } from '../../src/http/routes/routes/resolve.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { casesWithMaterialsOverdue } from '../../src/services/cases/outstanding.js'
import { PgOutstandingStore } from '../../src/store/outstanding-store.js'
import { elderlyCareHome, files } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { signAssertion } from '../helpers/client-assertion.js'

let t: TestApp
let window: Awaited<ReturnType<TestApp['operator']>> // 张湾区: origin, and processing for the within-city pilot
let xiangyang: Awaited<ReturnType<TestApp['operator']>> // a party to nothing here
let system: TestClient

const MAX = 4096

beforeAll(async () => {
  t = await createTestApp({ env: { FILE_MAX_BYTES: String(MAX) } })
  window = await t.operator('420303', 'ZW-ZH-01', '王窗口')
  xiangyang = await t.operator('420600', 'XY-01')
  system = await t.client('zw-system', ['420303'])
}, 60_000)

afterAll(async () => {
  await t?.close()
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
/** An operator upload (raw body, token). */
async function uploadAs(token: string, body: Buffer, type: string) {
  const r = await t.app.request('/v1/files', {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'content-type': type, authorization: `Bearer ${token}` },
  })
  return { status: r.status, body: (await r.json()) as any }
}

async function download(token: string, hash: string) {
  const r = await t.app.request(`/v1/files/${hash}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: r.status, type: r.headers.get('content-type'), bytes: Buffer.from(await r.arrayBuffer()) }
}

let keyN = 0
const submit = (body: unknown) => window.call('POST', '/v1/cases', body, { 'idempotency-key': `ot-${++keyN}` })

/** Submits 开养老院 and marks every child delivered (no workers run here). */
async function elderlyCase(overrides: Record<string, unknown> = {}) {
  const res = await submit(elderlyCareHome({ agent: undefined, ...overrides }))
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const children = res.body.case.children as { id: string; item: string }[]
  for (const c of children) {
    await recordGatewayEvent(
      t.runtime.deps.cases,
      c.id,
      'dispatched',
      { adapter: 'manual' },
      { remoteRef: `LZD-${c.id}` },
    )
  }
  const child = (item: string) => children.find((c) => c.item === item)?.id as string
  return { id: res.body.case.id as string, children, child }
}

describe('一次告知: GET /v1/things/{id}/checklist', () => {
  it('开养老院 from 张湾区: every member routed under the pilot, each material once with the items that use it', async () => {
    const res = await window.call(
      'GET',
      '/v1/things/open-elderly-care-home/checklist?originRegion=420303&mode=online_transfer',
    )
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const body = ResolvedRouteOut.parse(res.body)
    expect(body.routes.map((r) => [r.item.code, r.processingRegion, r.agreement.id, r.dueDate])).toEqual([
      ['npo-elderly-care-registration', '420303', 'shiyan-within-city-pilot', '2026-10-14'],
      ['fire-safety-inspection-public-venue', '420303', 'shiyan-within-city-pilot', '2026-10-09'],
      ['food-business-licence', '420303', 'shiyan-within-city-pilot', '2026-10-09'],
      ['elderly-care-clinic-filing', '420303', 'shiyan-within-city-pilot', '2026-09-30'],
      ['elderly-care-home-filing', '420303', 'shiyan-within-city-pilot', '2026-09-30'],
    ])
    // The overall due date is the latest member's.
    expect(body.dueDate).toBe('2026-10-14')
    const codes = body.checklist.materials.map((m) => m.code)
    expect(codes).toHaveLength(18)
    expect(new Set(codes).size).toBe(18)
    const itemsOf = (code: string) => body.checklist.materials.find((m) => m.code === code)?.items
    expect(itemsOf('business-licence')).toEqual([
      'fire-safety-inspection-public-venue',
      'food-business-licence',
      'elderly-care-clinic-filing',
      'elderly-care-home-filing',
    ])
    expect(itemsOf('legal-rep-id')).toEqual([
      'npo-elderly-care-registration',
      'food-business-licence',
      'elderly-care-clinic-filing',
    ])
    expect(itemsOf('premises-proof')).toEqual(['npo-elderly-care-registration', 'elderly-care-home-filing'])
    expect(body.checklist.eCertificates.map((e) => [e.material, e.certificate])).toEqual([
      ['legal-rep-id', '居民身份证'],
      ['premises-proof', '不动产权证书'],
      ['business-licence', '营业执照'],
      ['food-business-licence-cert', '食品经营许可证'],
    ])
    // 容缺: the non-essential materials are marked as such.
    expect(body.checklist.materials.filter((m) => m.nonEssential).map((m) => m.code)).toEqual([
      'fire-facility-test-report',
      'staff-health-certificates',
      'fire-safety-proof',
      'food-business-licence-cert',
    ])
    // The same answer as POST /v1/routes/resolve with the thing.
    const resolved = await window.call('POST', '/v1/routes/resolve', {
      thing: 'open-elderly-care-home',
      originRegion: '420303',
      mode: 'online_transfer',
    })
    expect(resolved.body).toEqual(res.body)
  })

  it('我要开餐馆 from 张湾区, by hand from config/data/items: 20 materials, each once with exactly the items that use it', async () => {
    const res = await window.call(
      'GET',
      '/v1/things/open-restaurant/checklist?originRegion=420303&mode=online_transfer',
    )
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const body = ResolvedRouteOut.parse(res.body)
    expect(body.thing).toEqual({ id: 'open-restaurant', name: '我要开餐馆', leadDepartment: '市市场监督管理局' })
    expect(body.refused).toEqual([])
    // From Tue 29 Sep: 1 working day (promised) → Wed 30 Sep; 3 working days (the pilot's limit) → 30 Sep,
    // 8 Oct, 9 Oct (1–7 Oct National Day).
    expect(body.routes.map((r) => [r.item.code, r.processingRegion, r.agreement.id, r.dueDate])).toEqual([
      ['enterprise-establishment', '420303', 'shiyan-within-city-pilot', '2026-09-30'],
      ['food-business-licence', '420303', 'shiyan-within-city-pilot', '2026-10-09'],
      ['fire-safety-inspection-public-venue', '420303', 'shiyan-within-city-pilot', '2026-10-09'],
      ['sewage-discharge-permit', '420303', 'shiyan-within-city-pilot', '2026-10-09'],
      ['outdoor-advertising-permit', '420303', 'shiyan-within-city-pilot', '2026-10-09'],
    ])
    expect(body.dueDate).toBe('2026-10-09')
    // Every material in the order the members first ask for it, with the members that ask for it.
    const ee = 'enterprise-establishment'
    const food = 'food-business-licence'
    const fire = 'fire-safety-inspection-public-venue'
    const sewage = 'sewage-discharge-permit'
    const ad = 'outdoor-advertising-permit'
    expect(body.checklist.materials.map((m) => [m.code, m.items])).toEqual([
      ['articles-of-association', [ee]],
      ['legal-rep-id', [ee, food]],
      ['shareholder-qualification-proof', [ee]],
      ['appointment-documents', [ee]],
      ['premises-proof', [ee]],
      ['business-licence', [food, fire, sewage, ad]],
      ['food-premises-layout', [food]],
      ['food-safety-rules', [food]],
      ['food-safety-manager-proof', [food]],
      ['staff-health-certificates', [food]],
      ['fire-safety-commitment', [fire]],
      ['fire-safety-rules', [fire]],
      ['construction-fire-acceptance', [fire]],
      ['fire-facility-test-report', [fire]],
      ['drainage-network-drawing', [sewage]],
      ['pretreatment-facility-description', [sewage]],
      ['wastewater-quality-report', [sewage]],
      ['ad-facility-design', [ad]],
      ['ad-location-consent', [ad]],
      ['structural-safety-statement', [ad]],
    ])
    expect(body.checklist.materials.filter((m) => m.nonEssential).map((m) => m.code)).toEqual([
      'staff-health-certificates',
      'fire-facility-test-report',
      'wastewater-quality-report',
    ])
    expect(body.checklist.eCertificates.map((e) => [e.material, e.certificate])).toEqual([
      ['legal-rep-id', '居民身份证'],
      ['premises-proof', '不动产权证书'],
      ['business-licence', '营业执照'],
    ])
    const resolved = await window.call('POST', '/v1/routes/resolve', {
      thing: 'open-restaurant',
      originRegion: '420303',
      mode: 'online_transfer',
    })
    expect(resolved.body).toEqual(res.body)
  })

  it('names the items no agreement allows in that mode, with the reason, instead of dropping them', async () => {
    const res = await window.call(
      'GET',
      '/v1/things/open-elderly-care-home/checklist?originRegion=420303&mode=full_online',
    )
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const body = ResolvedRouteOut.parse(res.body)
    expect(body.routes.map((r) => r.item.code)).toEqual([
      'npo-elderly-care-registration',
      'food-business-licence',
      'elderly-care-home-filing',
    ])
    expect(body.refused.map((r) => [r.item.code, r.code])).toEqual([
      ['fire-safety-inspection-public-venue', 'mode_not_allowed'],
      ['elderly-care-clinic-filing', 'mode_not_allowed'],
    ])
    expect(body.refused[0]?.detail).toContain('allows online_transfer, multi_site')
    // Their materials are not in the checklist of what may go.
    expect(body.checklist.materials.map((m) => m.code)).not.toContain('fire-safety-commitment')
  })

  it('names an item no agreement covers for its processing region', async () => {
    const res = await window.call('POST', '/v1/routes/resolve', {
      thing: 'open-restaurant',
      originRegion: '420303',
      mode: 'online_transfer',
      processingRegions: { 'outdoor-advertising-permit': '440100' },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.refused).toEqual([
      {
        item: expect.objectContaining({ code: 'outdoor-advertising-permit' }),
        processingRegion: '440100',
        code: 'no_agreement',
        detail: expect.any(String),
      },
    ])
    expect(res.body.routes).toHaveLength(4)
  })

  it.each([
    ['/v1/things/no-such-thing/checklist?originRegion=420303&mode=online_transfer', 404],
    ['/v1/things/open-restaurant/checklist?mode=online_transfer', 400],
    ['/v1/things/open-restaurant/checklist?originRegion=420303&mode=teleport', 400],
    ['/v1/things/open-restaurant/checklist?originRegion=999999&mode=online_transfer', 422],
  ])('GET %s → %i', async (p, status) => {
    const res = await window.call('GET', p)
    expect(res.status, JSON.stringify(res.body)).toBe(status)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
  })

  it('needs a caller', async () => {
    expect((await t.call('GET', '/v1/things/open-restaurant/form')).status).toBe(401)
  })
})

describe('一表申请: GET /v1/things/{id}/form', () => {
  it('我要开餐馆: each shared field asked once, with every item that asks it', async () => {
    const res = await window.call('GET', '/v1/things/open-restaurant/form')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const { schema, fields, conflicts } = res.body
    expect(conflicts).toEqual([])
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, title: '我要开餐馆' })
    const names = fields.map((f: { name: string }) => f.name)
    expect(Object.keys(schema.properties)).toEqual(names)
    expect(names).toHaveLength(18)
    expect(fields.find((f: { name: string }) => f.name === 'businessAddress').items).toEqual([
      'enterprise-establishment',
      'food-business-licence',
      'fire-safety-inspection-public-venue',
      'sewage-discharge-permit',
      'outdoor-advertising-permit',
    ])
    expect(fields.find((f: { name: string }) => f.name === 'businessArea').items).toEqual([
      'food-business-licence',
      'fire-safety-inspection-public-venue',
    ])
    expect(schema.properties.venueType.enum).toContain('餐饮场所')
    expect(schema.required).toContain('dailyDischarge')
    expect(schema.required).not.toContain('mailingAddress')
  })

  it('开养老院, by hand from config/data/items: 16 fields, the shared ones with their items, 14 required', async () => {
    const res = await window.call('GET', '/v1/things/open-elderly-care-home/form')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const { schema, fields, conflicts } = res.body
    expect(conflicts).toEqual([])
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, title: '开养老院' })
    const npo = 'npo-elderly-care-registration'
    const fire = 'fire-safety-inspection-public-venue'
    const food = 'food-business-licence'
    const clinic = 'elderly-care-clinic-filing'
    const home = 'elderly-care-home-filing'
    const all = [npo, fire, food, clinic, home]
    // In the order the members first ask for them, each with the members that ask for it.
    expect(fields.map((f: { name: string; items: string[] }) => [f.name, f.items])).toEqual([
      ['applicantName', all],
      ['applicantPhone', all],
      ['enterpriseName', all],
      ['legalRepresentative', all],
      ['businessAddress', all],
      ['startupFunds', [npo]],
      ['bedCount', [npo, home]],
      ['mailingAddress', [npo, food]],
      ['businessArea', [fire, food]],
      ['venueType', [fire]],
      ['commitmentMode', [fire]],
      ['foodBusinessCategory', [food]],
      ['foodBusinessItems', [food]],
      ['clinicType', [clinic]],
      ['medicalSubjects', [clinic]],
      ['careServiceContent', [home]],
    ])
    expect(Object.keys(schema.properties)).toEqual(fields.map((f: { name: string }) => f.name))
    // Optional in every member that asks: mailingAddress (registration, food licence), commitmentMode (fire).
    expect([...schema.required].sort()).toEqual(
      [
        'applicantName',
        'applicantPhone',
        'enterpriseName',
        'legalRepresentative',
        'businessAddress',
        'startupFunds',
        'bedCount',
        'businessArea',
        'venueType',
        'foodBusinessCategory',
        'foodBusinessItems',
        'clinicType',
        'medicalSubjects',
        'careServiceContent',
      ].sort(),
    )
    expect(schema.properties.bedCount.type).toBe('integer')
    expect(schema.properties.businessArea.type).toBe('number')
    expect(schema.properties.commitmentMode.type).toBe('boolean')
    expect(schema.properties.clinicType.enum).toEqual(['诊所', '卫生所（室）', '医务室', '护理站'])
    expect(schema.properties.applicantPhone).toMatchObject({ type: 'string', pattern: '^1[3-9]\\d{9}$', maxLength: 11 })
  })

  it('开养老院: the submission is checked against the one form, then each child gets its own part', async () => {
    const bad = await submit(
      elderlyCareHome({ agent: undefined, form: { ...elderlyCareHome().form, bedCount: 'many' } }),
    )
    expect(bad.status).toBe(422)
    expect(bad.body.code).toBe('invalid_form')
    expect(bad.body.errors).toEqual([{ path: 'form.bedCount', message: expect.stringContaining('integer') }])
    const { children } = await elderlyCase()
    const fire = await window.call(
      'GET',
      `/v1/cases/${children.find((c) => c.item === 'fire-safety-inspection-public-venue')?.id}`,
    )
    expect(Object.keys(fire.body.form).sort()).toEqual(
      [
        'applicantName',
        'applicantPhone',
        'enterpriseName',
        'legalRepresentative',
        'businessAddress',
        'businessArea',
        'venueType',
      ].sort(),
    )
    expect(fire.body.materials.map((m: { code: string }) => m.code)).toEqual([
      'business-licence',
      'fire-safety-commitment',
      'fire-safety-rules',
    ])
  })
})

describe('files: POST /v1/files, GET /v1/files/{sha256}', () => {
  it('stores a file once by its SHA-256, whoever sends it and however often', async () => {
    const pdf = files.pdf('stored once')
    const first = await uploadAs(window.token, pdf, 'application/pdf')
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(first.body).toMatchObject({
      sha256: sha(pdf),
      mediaType: 'application/pdf',
      size: pdf.length,
      created: true,
    })
    const again = await uploadAs(window.token, pdf, 'application/pdf; charset=binary')
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ sha256: sha(pdf), created: false, createdAt: first.body.createdAt })
    const other = await uploadAs(xiangyang.token, pdf, 'application/pdf')
    expect(other.body.created).toBe(false)
    const rows = await t.runtime.database.query<{ n: number; uploaders: number }>(
      'select (select count(*)::int from files where sha256 = $1) as n, (select count(*)::int from file_uploads where sha256 = $1) as uploaders',
      [sha(pdf)],
    )
    expect(rows[0]).toEqual({ n: 1, uploaders: 2 })
    const got = await download(window.token, sha(pdf))
    expect(got.status).toBe(200)
    expect(got.type).toBe('application/pdf')
    expect(got.bytes.equals(pdf)).toBe(true)
  })

  it('takes a system client’s upload, its assertion covering the raw bytes', async () => {
    const png = files.png()
    const assertion = await signAssertion({
      clientId: system.id,
      key: system.key,
      audience: t.gatewayId,
      method: 'POST',
      pathAndQuery: '/v1/files',
      body: new Uint8Array(png),
      now: t.clock.now(),
    })
    const r = await t.app.request('/v1/files', {
      method: 'POST',
      body: new Uint8Array(png),
      headers: { 'content-type': 'image/png', authorization: `Bearer ${assertion}` },
    })
    expect(r.status, await r.clone().text()).toBe(201)
    expect(((await r.json()) as { sha256: string }).sha256).toBe(sha(png))
    // The assertion binds the body: other bytes under the same assertion are refused.
    const replay = await t.app.request('/v1/files', {
      method: 'POST',
      body: new Uint8Array(files.jpeg()),
      headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${assertion}` },
    })
    expect(replay.status).toBe(401)
  })

  it.each([
    ['a PDF declared as image/png', files.pdf('x'), 'image/png', 422, 'file_content_mismatch'],
    ['a PNG declared as application/pdf', files.png(), 'application/pdf', 422, 'file_content_mismatch'],
    [
      'a ZIP that is not OFD',
      Buffer.from('PK\u0003\u0004 not an ofd', 'latin1'),
      'application/ofd',
      422,
      'file_content_mismatch',
    ],
    ['text/plain', Buffer.from('hello'), 'text/plain', 415, 'unsupported_media_type'],
    ['JSON', Buffer.from('{"a":1}'), 'application/json', 415, 'unsupported_media_type'],
    [
      'more than FILE_MAX_BYTES',
      Buffer.concat([files.pdf(), Buffer.alloc(MAX)]),
      'application/pdf',
      413,
      'payload_too_large',
    ],
  ])('refuses %s', async (_, body, type, status, code) => {
    const res = await uploadAs(window.token, body, type)
    expect(res.status, JSON.stringify(res.body)).toBe(status)
    expect(res.body.code).toBe(code)
  })

  it('refuses an admin upload, and an unauthenticated one', async () => {
    expect((await uploadAs(t.adminToken, files.jpeg(), 'image/jpeg')).status).toBe(403)
    const r = await t.app.request('/v1/files', {
      method: 'POST',
      body: new Uint8Array(files.jpeg()),
      headers: { 'content-type': 'image/jpeg' },
    })
    expect(r.status).toBe(401)
  })

  it('shows a file only to its uploader and the parties of a case that references it (others: 404)', async () => {
    const pdf = files.pdf('referenced')
    expect((await uploadAs(window.token, pdf, 'application/pdf')).status).toBe(201)
    // Not referenced yet: 襄阳 is a party to nothing.
    expect((await download(xiangyang.token, sha(pdf))).status).toBe(404)
    expect((await download(t.adminToken, sha(pdf))).status).toBe(404)
    expect((await download(window.token, '0'.repeat(64))).status).toBe(404)
    // A case from 张湾区 to 襄阳 references it: 襄阳's window (the processing side) may now read it.
    const res = await window.call(
      'POST',
      '/v1/cases',
      {
        item: 'hukou-certificate',
        mode: 'full_online',
        originRegion: '420303',
        processingRegion: '420600',
        applicant: { kind: 'person', name: '张三', idType: 'passport', idNumber: 'E12345678' },
        form: {
          applicantName: '张三',
          applicantPhone: '13800138000',
          certificateType: '户籍证明',
          purpose: '办理入学',
        },
        materials: [
          { code: 'applicant-id-card', form: 'electronic', sha256: sha(pdf) },
          { code: 'hukou-booklet', form: 'paper' },
        ],
      },
      { 'idempotency-key': 'ref-1' },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const seen = await download(xiangyang.token, sha(pdf))
    expect(seen.status).toBe(200)
    expect(seen.bytes.equals(pdf)).toBe(true)
    const stranger = await t.operator('420100', 'WH-01')
    expect((await download(stranger.token, sha(pdf))).status).toBe(404)
  })

  it('intake refuses a material whose file is not stored (422 unknown_file), and every child reuses an upload', async () => {
    const missing = 'a'.repeat(64)
    const base = elderlyCareHome({ agent: undefined })
    const refused = await submit({
      ...base,
      materials: base.materials.map((m) =>
        m.code === 'business-licence' ? { ...m, form: 'electronic', sha256: missing } : m,
      ),
    })
    expect(refused.status, JSON.stringify(refused.body)).toBe(422)
    expect(refused.body).toMatchObject({ code: 'unknown_file' })
    expect(refused.body.errors).toEqual([
      { path: 'materials[4].sha256', message: expect.stringContaining('POST /v1/files') },
    ])

    const licence = files.pdf('营业执照')
    expect((await uploadAs(window.token, licence, 'application/pdf')).status).toBe(201)
    const { children } = await elderlyCase({
      materials: base.materials.map((m) =>
        m.code === 'business-licence' ? { ...m, form: 'electronic', sha256: sha(licence) } : m,
      ),
    })
    // Four of the five items need the licence: each child references the one stored file.
    const using: string[] = []
    for (const c of children) {
      const view = (await window.call('GET', `/v1/cases/${c.id}`)).body
      if (view.materials.some((m: { sha256?: string }) => m.sha256 === sha(licence))) using.push(c.item)
    }
    expect(using.sort()).toEqual(
      [
        'elderly-care-clinic-filing',
        'elderly-care-home-filing',
        'fire-safety-inspection-public-venue',
        'food-business-licence',
      ].sort(),
    )
    const [row] = await t.runtime.database.query<{ n: number }>(
      'select count(*)::int as n from files where sha256 = $1',
      [sha(licence)],
    )
    expect(row?.n).toBe(1)
  })
})

describe('容缺受理: accepted with non-essential materials outstanding', () => {
  it('accepts with a non-essential material outstanding, reports it overdue after its date, and clears it on supplement', async () => {
    const { child } = await elderlyCase()
    const food = child('food-business-licence')
    const essential = await window.call('POST', `/v1/cases/${food}/events`, {
      type: 'accepted',
      data: { outstanding: ['legal-rep-id', 'no-such-material'], supplyBy: '2026-10-09' },
    })
    expect(essential.status, JSON.stringify(essential.body)).toBe(422)
    expect(essential.body.code).toBe('outstanding_not_allowed')
    expect(essential.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'data.outstanding[0]',
      'data.outstanding[1]',
    ])
    const past = await window.call('POST', `/v1/cases/${food}/events`, {
      type: 'accepted',
      data: { outstanding: ['staff-health-certificates'], supplyBy: '2026-09-28' },
    })
    expect(past.status).toBe(422)
    expect((await window.call('GET', `/v1/cases/${food}`)).body.status).toBe('dispatched')

    const ok = await window.call('POST', `/v1/cases/${food}/events`, {
      type: 'accepted',
      data: { outstanding: ['staff-health-certificates'], supplyBy: '2026-10-09', note: '容缺受理' },
    })
    expect(ok.status, JSON.stringify(ok.body)).toBe(201)
    expect(ok.body.event.data).toMatchObject({ outstanding: ['staff-health-certificates'], supplyBy: '2026-10-09' })
    const view = (await window.call('GET', `/v1/cases/${food}`)).body
    expect(view).toMatchObject({
      status: 'accepted',
      outstanding: { materials: ['staff-health-certificates'], supplyBy: '2026-10-09', overdue: false },
    })

    const store = new PgOutstandingStore(t.runtime.database)
    const onTime = await casesWithMaterialsOverdue(store, new Date('2026-10-09T23:00:00+08:00'))
    expect(onTime.map((o) => o.caseId)).not.toContain(food)
    const late = await casesWithMaterialsOverdue(store, new Date('2026-10-10T00:30:00+08:00'))
    expect(late.find((o) => o.caseId === food)).toEqual({
      caseId: food,
      parentId: expect.any(String),
      item: 'food-business-licence',
      originRegion: '420303',
      processingRegion: '420303',
      outstanding: ['staff-health-certificates'],
      supplyBy: '2026-10-09',
    })
    t.clock.set('2026-10-10T09:00:00+08:00')
    try {
      expect((await window.call('GET', `/v1/cases/${food}`)).body.outstanding.overdue).toBe(true)
      // The origin supplies it; the case goes on in its status, nothing outstanding any more.
      const notUploaded = await window.call('POST', `/v1/cases/${food}/events`, {
        type: 'supplement_provided',
        data: { materials: [{ code: 'staff-health-certificates', sha256: 'b'.repeat(64) }] },
      })
      expect(notUploaded.status, JSON.stringify(notUploaded.body)).toBe(422)
      expect(notUploaded.body.code).toBe('unknown_file')
      expect((await window.call('GET', `/v1/cases/${food}`)).body.outstanding.materials).toEqual([
        'staff-health-certificates',
      ])
      const health = files.pdf('健康证明')
      expect((await uploadAs(window.token, health, 'application/pdf')).status).toBe(201)
      const supplied = await window.call('POST', `/v1/cases/${food}/events`, {
        type: 'supplement_provided',
        data: { materials: [{ code: 'staff-health-certificates', sha256: sha(health) }] },
      })
      expect(supplied.status, JSON.stringify(supplied.body)).toBe(201)
      expect(supplied.body.status).toBe('accepted')
      const after = (await window.call('GET', `/v1/cases/${food}`)).body
      expect(after.outstanding).toBeUndefined()
      // The supplied material joins the case's materials, by reference to the one stored file.
      expect(after.materials.at(-1)).toEqual({
        code: 'staff-health-certificates',
        form: 'electronic',
        sha256: sha(health),
      })
      expect((await casesWithMaterialsOverdue(store, t.clock.now())).map((o) => o.caseId)).not.toContain(food)
      // Nothing is outstanding now: another supplement is refused.
      const again = await window.call('POST', `/v1/cases/${food}/events`, {
        type: 'supplement_provided',
        data: { materials: [{ code: 'staff-health-certificates' }] },
      })
      expect(again.status).toBe(409)
    } finally {
      t.clock.set('2026-09-29T09:00:00+08:00')
    }
  })

  it('refuses outstanding without a supply date, and a case no longer open is not reported', async () => {
    const { id, child } = await elderlyCase()
    const fire = child('fire-safety-inspection-public-venue')
    const bad = await window.call('POST', `/v1/cases/${fire}/events`, {
      type: 'accepted',
      data: { outstanding: ['fire-facility-test-report'] },
    })
    expect(bad.status).toBe(400)
    const ok = await window.call('POST', `/v1/cases/${fire}/events`, {
      type: 'accepted',
      data: { outstanding: ['fire-facility-test-report'], supplyBy: '2026-09-30' },
    })
    expect(ok.status, JSON.stringify(ok.body)).toBe(201)
    const store = new PgOutstandingStore(t.runtime.database)
    const later = new Date('2026-10-02T09:00:00+08:00')
    expect((await casesWithMaterialsOverdue(store, later)).map((o) => o.caseId)).toContain(fire)
    // A bundle is withdrawn as a whole, on its parent.
    expect((await window.call('POST', `/v1/cases/${id}/events`, { type: 'withdrawn', data: {} })).status).toBe(201)
    expect((await casesWithMaterialsOverdue(store, later)).map((o) => o.caseId)).not.toContain(fire)
  })
})

describe('联合踏勘: POST /v1/cases/{id}/inspections', () => {
  const accept = async (id: string) => {
    const r = await window.call('POST', `/v1/cases/${id}/events`, { type: 'accepted', data: {} })
    expect(r.status, JSON.stringify(r.body)).toBe(201)
  }
  const caseOf = async (id: string) => (await window.call('GET', `/v1/cases/${id}`)).body

  it('suspends the children together and resumes them together', async () => {
    const { id, child } = await elderlyCase()
    const fire = child('fire-safety-inspection-public-venue')
    const food = child('food-business-licence')
    await accept(fire)
    await accept(food)
    const res = await window.call('POST', `/v1/cases/${id}/inspections`, {
      children: [food, fire],
      date: '2026-10-09',
      place: '十堰市张湾区车城路1号',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const inspection = res.body.inspection
    expect(inspection).toMatchObject({ parentId: id, children: [fire, food].sort(), status: 'scheduled' })
    expect(res.body.events.map((e: { caseId: string; type: string }) => [e.caseId, e.type])).toEqual(
      [fire, food].sort().map((c) => [c, 'inspection_scheduled']),
    )
    for (const c of [fire, food]) {
      expect((await caseOf(c)).suspended).toBe(true)
      const last = (await window.call('GET', `/v1/cases/${c}/events`)).body.events.at(-1)
      expect(last).toMatchObject({
        type: 'inspection_scheduled',
        data: { inspection: inspection.id, date: '2026-10-09', reason: expect.stringContaining('联合踏勘') },
      })
    }
    const done = await window.call('POST', `/v1/cases/${id}/inspections/${inspection.id}/complete`)
    expect(done.status, JSON.stringify(done.body)).toBe(200)
    expect(done.body.inspection).toMatchObject({ status: 'completed', completedBy: expect.stringMatching(/^person:/) })
    for (const c of [fire, food]) {
      expect((await caseOf(c)).suspended).toBe(false)
      const last = (await window.call('GET', `/v1/cases/${c}/events`)).body.events.at(-1)
      expect(last).toMatchObject({ type: 'inspection_completed', data: { inspection: inspection.id } })
    }
    const twice = await window.call('POST', `/v1/cases/${id}/inspections/${inspection.id}/complete`)
    expect(twice.status).toBe(409)
    const listed = await window.call('GET', `/v1/cases/${id}/inspections`)
    expect(listed.status).toBe(200)
    expect(listed.body.inspections).toEqual([done.body.inspection])
    expect((await xiangyang.call('GET', `/v1/cases/${id}/inspections`)).status).toBe(404)
  })

  it('stops both children’s deadline clocks while it lasts and moves each due date by the working days it took', async () => {
    const cst = (local: string) => new Date(`${local}+08:00`).toISOString()
    const deadline = async (c: string) => (await caseOf(c)).deadline
    try {
      // Accepted Tue 29 Sep 09:00 with 3 working days: budget 0.625 + 3 = 3.625; 30 Sep, 8 Oct, 9 Oct
      // (1–7 Oct National Day) → due Fri 9 Oct.
      const { id, child } = await elderlyCase()
      const fire = child('fire-safety-inspection-public-venue')
      const food = child('food-business-licence')
      await accept(fire)
      await accept(food)
      for (const c of [fire, food]) {
        expect(await deadline(c)).toMatchObject({ state: 'running', dueDate: '2026-10-09', budgetDays: 3.625 })
      }
      // Scheduled Wed 30 Sep 09:00: 0.625 + 0.375 = 1 working day used.
      t.clock.set(cst('2026-09-30T09:00:00'))
      const res = await window.call('POST', `/v1/cases/${id}/inspections`, {
        children: [fire, food],
        date: '2026-09-30',
        place: '十堰市张湾区车城路1号',
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      // Thu 8 Oct 15:00, across the holiday: both clocks stand still at 1 day used, nothing planned.
      t.clock.set(cst('2026-10-08T15:00:00'))
      for (const c of [fire, food]) {
        expect(await deadline(c)).toMatchObject({
          state: 'stopped',
          usedDays: 1,
          leftDays: 2.625,
          warnAt: null,
          overdue: false,
        })
      }
      // Completed Fri 9 Oct 09:00: it lasted 0.625 (30 Sep) + 1 (8 Oct) + 0.375 (9 Oct) = 2 working days.
      // 2.625 left from 9 Oct 09:00: 0.625 (9 Oct) + 1 (Sat 10 Oct, a make-up working day) + 1 (Mon 12 Oct)
      // → due Mon 12 Oct, two working days after 9 Oct. The warning at 0.8 × 3.625 = 2.9 used falls 0.275
      // into 12 Oct: 06:36.
      t.clock.set(cst('2026-10-09T09:00:00'))
      const done = await window.call('POST', `/v1/cases/${id}/inspections/${res.body.inspection.id}/complete`)
      expect(done.status, JSON.stringify(done.body)).toBe(200)
      for (const c of [fire, food]) {
        expect(await deadline(c)).toMatchObject({
          state: 'running',
          dueDate: '2026-10-12',
          dueAt: cst('2026-10-12T23:59:59.999'),
          warnAt: cst('2026-10-12T06:36:00'),
          usedDays: 1,
          leftDays: 2.625,
          overdue: false,
        })
      }
      // Sat 10 Oct 09:00, past the old due date: 1 + 0.625 + 0.375 = 2 used, not late.
      t.clock.set(cst('2026-10-10T09:00:00'))
      for (const c of [fire, food]) {
        expect(await deadline(c)).toMatchObject({ state: 'running', usedDays: 2, leftDays: 1.625, overdue: false })
      }
    } finally {
      t.clock.set('2026-09-29T09:00:00+08:00')
    }
  })

  it('all or none: one child that cannot be suspended leaves every child as it was', async () => {
    const { id, child } = await elderlyCase()
    const fire = child('fire-safety-inspection-public-venue')
    const food = child('food-business-licence')
    const clinic = child('elderly-care-clinic-filing')
    await accept(fire)
    await accept(food)
    // The clinic filing is only dispatched: not yet accepted, it cannot be suspended.
    const res = await window.call('POST', `/v1/cases/${id}/inspections`, {
      children: [fire, food, clinic],
      date: '2026-10-09',
      place: '现场',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(409)
    expect(res.body.code).toBe('invalid_transition')
    for (const c of [fire, food, clinic]) {
      expect((await caseOf(c)).suspended).toBe(false)
      const types = (await window.call('GET', `/v1/cases/${c}/events`)).body.events.map((e: { type: string }) => e.type)
      expect(types).not.toContain('inspection_scheduled')
    }
    const [row] = await t.runtime.database.query<{ n: number }>(
      'select count(*)::int as n from inspections where parent_id = $1',
      [id],
    )
    expect(row?.n).toBe(0)
  })

  it.each([
    ['a single child', (c: string[]) => ({ children: [c[0]], date: '2026-10-09', place: 'x' }), 400],
    [
      'a case that is not a child',
      () => ({
        children: ['01a0eaac-fa80-7071-90b1-afdfa81a15c5', '01a0eaac-fa80-7071-90b1-afdfa81a15c6'],
        date: '2026-10-09',
        place: 'x',
      }),
      400,
    ],
    ['no place', (c: string[]) => ({ children: c, date: '2026-10-09' }), 400],
  ])('refuses %s', async (_, body, status) => {
    const { id, children } = await elderlyCase()
    const res = await window.call('POST', `/v1/cases/${id}/inspections`, body(children.map((c) => c.id)))
    expect(res.status, JSON.stringify(res.body)).toBe(status)
  })

  it('is for the processing side of the children: a non-party gets 404, the origin of another region 403', async () => {
    const { id, child } = await elderlyCase()
    const body = {
      children: [child('food-business-licence'), child('fire-safety-inspection-public-venue')],
      date: '2026-10-09',
      place: 'x',
    }
    expect((await xiangyang.call('POST', `/v1/cases/${id}/inspections`, body)).status).toBe(404)
    // A 十堰 system acting for 茅箭区 only is no party either.
    const maojian = await t.client('mj-system', ['420302'])
    expect((await maojian.call('POST', `/v1/cases/${id}/inspections`, body)).status).toBe(404)
  })
})

describe('each department sees its own part of a bundle', () => {
  it('a processing party of one child sees the parent with that child only, its fields and materials only', async () => {
    const { id, child, children } = await elderlyCase({ processingRegions: { 'food-business-licence': '420600' } })
    const food = child('food-business-licence')
    const parent = await xiangyang.call('GET', `/v1/cases/${id}`)
    expect(parent.status, JSON.stringify(parent.body)).toBe(200)
    expect(parent.body.children.map((c: { id: string }) => c.id)).toEqual([food])
    expect(Object.keys(parent.body.form).sort()).toEqual(
      [
        'applicantName',
        'applicantPhone',
        'businessAddress',
        'businessArea',
        'enterpriseName',
        'foodBusinessCategory',
        'foodBusinessItems',
        'legalRepresentative',
      ].sort(),
    )
    expect(parent.body.materials.map((m: { code: string }) => m.code).sort()).toEqual(
      [
        'business-licence',
        'food-premises-layout',
        'food-safety-manager-proof',
        'food-safety-rules',
        'legal-rep-id',
      ].sort(),
    )
    // The origin window sees the whole of it.
    const whole = (await window.call('GET', `/v1/cases/${id}`)).body
    expect(whole.children).toHaveLength(5)
    expect(whole.form).toHaveProperty('bedCount')
    // The other children are not found; its own is.
    expect((await xiangyang.call('GET', `/v1/cases/${food}`)).status).toBe(200)
    for (const c of children.filter((k) => k.id !== food)) {
      expect((await xiangyang.call('GET', `/v1/cases/${c.id}`)).status).toBe(404)
    }
  })

  it('once issued, a processing party gets its own child’s result from the parent, the origin every result', async () => {
    const { id, children } = await elderlyCase({ processingRegions: { 'food-business-licence': '420600' } })
    for (const c of children) {
      const side = c.item === 'food-business-licence' ? xiangyang : window
      expect((await side.call('POST', `/v1/cases/${c.id}/events`, { type: 'accepted', data: {} })).status).toBe(201)
      const r = await side.call('POST', `/v1/cases/${c.id}/result`, {
        outcome: 'approved',
        decision: { number: `D-${c.item}`, date: '2026-09-29' },
        trust: 'B',
      })
      expect(r.status, JSON.stringify(r.body)).toBe(201)
    }
    const all = await window.call('GET', `/v1/cases/${id}/result`)
    expect(all.status, JSON.stringify(all.body)).toBe(200)
    expect(all.body.results).toHaveLength(5)
    const own = await xiangyang.call('GET', `/v1/cases/${id}/result`)
    expect(own.status, JSON.stringify(own.body)).toBe(200)
    expect(own.body.results.map((r: { item: string }) => r.item)).toEqual(['food-business-licence'])
  })
})
