import { Queue } from 'bullmq'
import { createLocalJWKSet, jwtVerify } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { CaseCreated, CaseView } from '../../src/services/cases/schemas.js'
import { applicant, hukouCertificate, hukouSpouse, multiSiteEnterprise, residentId } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { bodySha256 } from '../helpers/client-assertion.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let shiyan: TestClient // Shiyan's city system: acts for 420300 and so for 张湾区
let xiangyang: TestClient // Xiangyang's system: the processing side of the cases below
let shaanxi: TestClient // a party to nothing here
let db: pg.Client

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300'])
  xiangyang = await t.client('xiangyang-gov', ['420600'], 'EdDSA')
  shaanxi = await t.client('shaanxi-gov', ['610000'])
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
})
afterAll(async () => {
  await db?.end()
  await t?.close()
})

let keyCounter = 0
const key = () => ({ 'idempotency-key': `k-${Date.now()}-${keyCounter++}` })

describe('POST /v1/cases', () => {
  it('creates a case: scope, agreement, due date, a receipt that verifies with the published keys', async () => {
    const body = hukouCertificate({ externalRef: 'ZW-2026-000123' })
    const text = JSON.stringify(body)
    const res = await shiyan.call('POST', '/v1/cases', text, key())
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const created = CaseCreated.parse(res.body)
    expect(created.case).toMatchObject({
      status: 'submitted',
      scope: 'cross_city',
      agreement: { id: 'xiang-shi-sui-shen', version: 1 },
      originRegion: '420303',
      processingRegion: '420600',
      externalRef: 'ZW-2026-000123',
      // 1 working day after Tue 29 Sep 2026 is Wed 30 Sep.
      dueDate: '2026-09-30',
    })
    // The submitter's own system sees the number in full.
    expect(created.case.applicant.idNumber).toBe(applicant.idNumber)
    expect(res.headers.get('location')).toBe(`/v1/cases/${created.case.id}`)

    const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
    const { payload, protectedHeader } = await jwtVerify(created.receipt, createLocalJWKSet(jwks), {
      typ: 'tongban-receipt+jwt',
      currentDate: t.clock.now(),
    })
    expect(protectedHeader.alg).toBe('ES256')
    expect(payload).toMatchObject({ iss: 'gw-test', sub: created.case.id, status: 'submitted', req: bodySha256(text) })
    expect(typeof payload.jti).toBe('string')

    // Stored: the number only encrypted, masked copy, the submitter's assertion, the first event of the chain.
    const row = (await db.query('select * from cases where id = $1', [created.case.id])).rows[0]
    expect(row.applicant_id_masked).toBe(`${applicant.idNumber.slice(0, 6)}********${applicant.idNumber.slice(-4)}`)
    expect(Buffer.from(row.applicant_id_enc).toString('latin1')).not.toContain(applicant.idNumber)
    expect(JSON.stringify(row)).not.toContain(applicant.idNumber)
    expect(row.assertion.split('.')).toHaveLength(3)
    expect(row.body_hash).toBe(bodySha256(text))
    const events = (await db.query('select * from case_events where case_id = $1', [created.case.id])).rows
    expect(events.map((e) => [e.seq, e.type, e.actor])).toEqual([[1, 'submitted', 'client:shiyan-gov']])

    // The relay moves it to the case.dispatch queue, job id = case id, payload without personal data.
    const queue = new Queue('case.dispatch', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
    try {
      const job = await waitFor('the dispatch job', () => queue.getJob(created.case.id), 20_000, 50)
      expect(job.data).toEqual({ caseId: created.case.id })
    } finally {
      await queue.close()
    }
  })

  it('replays the first answer for the same key and body, refuses another body, and scopes keys per caller', async () => {
    const headers = key()
    const body = JSON.stringify(hukouCertificate({ externalRef: 'ZW-idem-1' }))
    const first = await shiyan.call('POST', '/v1/cases', body, headers)
    expect(first.status).toBe(201)
    const again = await shiyan.call('POST', '/v1/cases', body, headers)
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
    const other = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(hukouCertificate({ externalRef: 'ZW-idem-2' })),
      headers,
    )
    expect(other.status).toBe(422)
    expect(other.body.code).toBe('idempotency_key_reused')
    const count = await db.query(
      "select count(*)::int as n from cases where external_ref in ('ZW-idem-1', 'ZW-idem-2')",
    )
    expect(count.rows[0].n).toBe(1)
    // Another caller with the same key makes its own case.
    const operator = await t.operator('420303', 'ZW-01')
    const mine = await operator.call('POST', '/v1/cases', body, headers)
    expect(mine.status, JSON.stringify(mine.body)).toBe(201)
    expect(mine.body.case.id).not.toBe(first.body.case.id)
  })

  it('replays the first answer even after its agreement was suspended; new submissions route under another one', async () => {
    const headers = key()
    const body = JSON.stringify(hukouCertificate({ externalRef: 'ZW-suspended' }))
    const first = await shiyan.call('POST', '/v1/cases', body, headers)
    expect(first.status).toBe(201)
    await t.runtime.directoryStore.setAgreementStatus('xiang-shi-sui-shen', 1, 'suspended', 'test')
    t.runtime.deps.directory.invalidate()
    try {
      const again = await shiyan.call('POST', '/v1/cases', body, headers)
      expect(again.status, JSON.stringify(again.body)).toBe(201)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.body.case.id).toBe(first.body.case.id)
      const fresh = await shiyan.call(
        'POST',
        '/v1/cases',
        JSON.stringify(hukouCertificate({ externalRef: 'ZW-new' })),
        key(),
      )
      // The province-wide agreement also allows this item and mode between the two cities.
      expect(fresh.status, JSON.stringify(fresh.body)).toBe(201)
      expect(fresh.body.case.agreement).toEqual({ id: 'hubei-province-wide', version: 1 })
      expect(fresh.body.case.scope).toBe('province_wide')
      expect((await shiyan.call('GET', `/v1/cases/${first.body.case.id}`)).body.agreement.id).toBe('xiang-shi-sui-shen')
    } finally {
      await t.runtime.directoryStore.setAgreementStatus('xiang-shi-sui-shen', 1, 'active', 'test')
      t.runtime.deps.directory.invalidate()
    }
  })

  it('lets concurrent retries create one case: the others get 409 or the replay', async () => {
    const headers = key()
    const body = JSON.stringify(hukouCertificate({ externalRef: 'ZW-concurrent' }))
    const answers = await Promise.all(Array.from({ length: 6 }, () => shiyan.call('POST', '/v1/cases', body, headers)))
    const statuses = answers.map((a) => a.status)
    expect(
      statuses.every((s) => s === 201 || s === 409),
      JSON.stringify(statuses),
    ).toBe(true)
    const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.case.id))
    expect(ids.size).toBe(1)
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.code).toBe('idempotency_in_flight')
    const count = await db.query("select count(*)::int as n from cases where external_ref = 'ZW-concurrent'")
    expect(count.rows[0].n).toBe(1)
  })

  it.each([
    ['no Idempotency-Key', hukouCertificate(), {}, 400, 'idempotency_key_missing'],
    [
      'a resident id with a wrong check character',
      hukouCertificate({
        applicant: {
          ...applicant,
          idNumber: `${applicant.idNumber.slice(0, 17)}${applicant.idNumber.endsWith('1') ? '2' : '1'}`,
        },
      }),
      key(),
      422,
      'invalid_identity_number',
    ],
    [
      'a USCC with a wrong check character',
      hukouCertificate({
        applicant: { kind: 'organization', name: '某公司', idType: 'uscc', idNumber: '91350100M000100Y44' },
      }),
      key(),
      422,
      'invalid_identity_number',
    ],
    ['online_transfer without agent', hukouSpouse({ agent: undefined }), key(), 400, 'validation_failed'],
    ['a route no agreement allows', hukouCertificate({ processingRegion: '440100' }), key(), 422, 'no_agreement'],
    [
      'a missing required material',
      hukouCertificate({ materials: [{ code: 'applicant-id-card', form: 'paper' }] }),
      key(),
      422,
      'materials_missing',
    ],
    [
      'a form missing a required field',
      hukouCertificate({ form: { applicantName: '张三' } }),
      key(),
      422,
      'invalid_form',
    ],
    [
      'an e-certificate id with a bad check character',
      hukouCertificate({
        materials: [
          {
            code: 'applicant-id-card',
            form: 'e_certificate',
            certificateId:
              '1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M',
          },
          { code: 'hukou-booklet', form: 'paper' },
        ],
      }),
      key(),
      422,
      'invalid_certificate_id',
    ],
    ['an unknown body field', { ...hukouCertificate(), colour: 'red' }, key(), 400, 'validation_failed'],
  ])('refuses %s', async (_name, body, headers, status, code) => {
    const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(body), headers as Record<string, string>)
    expect(res.status, JSON.stringify(res.body)).toBe(status)
    expect(res.body.code).toBe(code)
    // Never an identity number in an error.
    expect(JSON.stringify(res.body)).not.toMatch(/\d{17}[\dX]/)
  })

  it('refuses an origin region the caller does not act for', async () => {
    const res = await xiangyang.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), key())
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('forbidden')
  })

  it('takes the agent from a window operator’s token', async () => {
    const operator = await t.operator('420303', 'ZW-KSTB-02', '王窗口')
    const res = await operator.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), key())
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.case.agent).toEqual({ window: 'ZW-KSTB-02', operator: '王窗口' })
    // People see the identity number masked.
    expect(res.body.case.applicant.idNumber).toMatch(/^\d{6}\*{8}\d{3}[\dX]$/)
  })
})

describe('multi_site', () => {
  it('makes a parent and one child per site, each routed and queued on its own', async () => {
    const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(multiSiteEnterprise()), key())
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const parent = res.body.case
    expect(parent).toMatchObject({
      mode: 'multi_site',
      item: 'enterprise-establishment',
      processingRegion: null,
      scope: 'within_city',
    })
    expect(parent.children.map((c: { processingRegion: string }) => c.processingRegion).sort()).toEqual([
      '420302',
      'Z42030001',
    ])
    const read = await shiyan.call('GET', `/v1/cases/${parent.id}`)
    expect(read.body.children).toHaveLength(2)
    for (const child of parent.children) {
      const c = await shiyan.call('GET', `/v1/cases/${child.id}`)
      expect(c.body).toMatchObject({
        parentId: parent.id,
        item: 'enterprise-establishment',
        agreement: { id: 'shiyan-within-city-pilot' },
      })
    }
    const refused = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(multiSiteEnterprise({ sites: ['420302', '440100'] })),
      key(),
    )
    expect(refused.status).toBe(422)
    expect(refused.body.detail).toContain('440100')
    const bad = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(multiSiteEnterprise({ mode: 'online_transfer' })),
      key(),
    )
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('sites')
  })
})

describe('reading cases', () => {
  let id: string
  beforeAll(async () => {
    const res = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(hukouCertificate({ externalRef: 'ZW-read' })),
      key(),
    )
    id = res.body.case.id
  })

  it('shows a case to both parties, in full to their systems, masked to people; 404 to anyone else', async () => {
    const mine = await shiyan.call('GET', `/v1/cases/${id}`)
    expect(mine.status).toBe(200)
    expect(CaseView.parse(mine.body).applicant.idNumber).toBe(applicant.idNumber)
    const theirs = await xiangyang.call('GET', `/v1/cases/${id}`)
    expect(theirs.status).toBe(200)
    expect(theirs.body.applicant.idNumber).toBe(applicant.idNumber)
    const admin = await t.admin('GET', `/v1/cases/${id}`)
    expect(admin.status).toBe(200)
    expect(admin.body.applicant.idNumber).not.toBe(applicant.idNumber)
    const stranger = await shaanxi.call('GET', `/v1/cases/${id}`)
    expect(stranger.status).toBe(404)
    const otherWindow = await t.operator('421303', 'SZ-01')
    expect((await otherWindow.call('GET', `/v1/cases/${id}`)).status).toBe(404)
    expect((await shiyan.call('GET', '/v1/cases/00000000-0000-7000-8000-000000000000')).status).toBe(404)
  })

  it('lists the caller’s cases with filters and cursor pagination', async () => {
    for (let i = 0; i < 3; i++) {
      await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `ZW-list-${i}` })), key())
    }
    const page1 = await shiyan.call('GET', '/v1/cases?limit=2&item=hukou-certificate')
    expect(page1.status).toBe(200)
    expect(page1.body.cases).toHaveLength(2)
    expect(page1.body.nextCursor).toEqual(expect.any(String))
    const page2 = await shiyan.call(
      'GET',
      `/v1/cases?limit=2&item=hukou-certificate&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
    )
    expect(page2.body.cases.length).toBeGreaterThan(0)
    const ids = [...page1.body.cases, ...page2.body.cases].map((c: { id: string }) => c.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toEqual([...ids].sort().reverse())
    const none = await shaanxi.call('GET', '/v1/cases')
    expect(none.body.cases).toEqual([])
    const filtered = await xiangyang.call('GET', '/v1/cases?status=submitted&scope=cross_city&mode=full_online')
    expect(filtered.body.cases.length).toBeGreaterThanOrEqual(4)
    expect((await shiyan.call('GET', '/v1/cases?limit=500')).status).toBe(400)
  })
})

describe('events and the status machine', () => {
  it('moves a case through the protocol’s statuses; each side posts only its own events', async () => {
    const created = await shiyan.call(
      'POST',
      '/v1/cases',
      JSON.stringify(hukouCertificate({ externalRef: 'ZW-events' })),
      key(),
    )
    const id = created.body.case.id
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', { receipt: 'peer-receipt' })

    const wrongSide = await shiyan.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
    expect(wrongSide.status).toBe(403)
    const stranger = await shaanxi.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
    expect(stranger.status).toBe(404)
    const notOffline = await shiyan.call('POST', `/v1/cases/${id}/events`, {
      type: 'materials_shipped',
      data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' },
    })
    expect(notOffline.status).toBe(409)
    expect(notOffline.body).toMatchObject({ code: 'invalid_transition', currentStatus: 'dispatched' })
    expect(notOffline.body.allowedEvents).toEqual(expect.arrayContaining(['accepted', 'rejected', 'withdrawn']))

    const steps: [TestClient, unknown, string][] = [
      [xiangyang, { type: 'accepted' }, 'accepted'],
      [
        xiangyang,
        { type: 'supplement_requested', data: { materials: [{ code: 'hukou-booklet' }], dueDate: '2026-10-09' } },
        'supplement_requested',
      ],
      [shiyan, { type: 'supplement_provided', data: { materials: [{ code: 'hukou-booklet' }] } }, 'accepted'],
      [xiangyang, { type: 'in_review' }, 'in_review'],
      [xiangyang, { type: 'suspended', data: { reason: '联合踏勘' } }, 'in_review'],
      [xiangyang, { type: 'resumed' }, 'in_review'],
      [shiyan, { type: 'withdrawn', data: { reason: '申请人撤回' } }, 'withdrawn'],
    ]
    for (const [who, event, status] of steps) {
      const res = await who.call('POST', `/v1/cases/${id}/events`, event)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body.status).toBe(status)
    }
    const late = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'in_review' })
    expect(late.status).toBe(409)
    expect(late.body.currentStatus).toBe('withdrawn')

    const badData = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'rejected', data: {} })
    expect(badData.status).toBe(400)

    const timeline = await xiangyang.call('GET', `/v1/cases/${id}/events`)
    expect(timeline.status).toBe(200)
    const events = timeline.body.events
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      'submitted',
      'dispatched',
      'accepted',
      'supplement_requested',
      'supplement_provided',
      'in_review',
      'suspended',
      'resumed',
      'withdrawn',
    ])
    expect(events[0].prevHash).toBe('0'.repeat(64))
    for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash)
    expect((await shaanxi.call('GET', `/v1/cases/${id}/events`)).status).toBe(404)
  })

  it('keeps the window in an operator’s events', async () => {
    const operator = await t.operator('420303', 'ZW-KSTB-03')
    // An operator submits as their own window, never as another one (the 代收 figures count on it).
    const posing = await operator.call(
      'POST',
      '/v1/cases',
      hukouSpouse({ externalRef: 'ZW-window', mode: 'offline_proxy' }),
      key(),
    )
    expect(posing.status, JSON.stringify(posing.body)).toBe(403)
    expect(posing.body.detail).toBe('you submit for window ZW-KSTB-03, not for ZW-KSTB-01')
    expect(await t.runtime.database.query('select 1 from cases where external_ref = $1', ['ZW-window'])).toEqual([])
    const created = await operator.call(
      'POST',
      '/v1/cases',
      hukouSpouse({ externalRef: 'ZW-window', mode: 'offline_proxy', agent: undefined }),
      key(),
    )
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.case.agent).toMatchObject({ window: 'ZW-KSTB-03' })
    const id = created.body.case.id
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
    const shipped = await operator.call('POST', `/v1/cases/${id}/events`, {
      type: 'materials_shipped',
      data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' },
    })
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201)
    expect(shipped.body.event.data).toEqual({ carrier: 'EMS', trackingNumber: 'EA123456789CN', window: 'ZW-KSTB-03' })
    // The transfer slip that travels with the paper: tracking number, case id (text and QR), masked applicant.
    const slip = await t.app.request(`/v1/cases/${id}/transfer-slip`, {
      headers: { authorization: `Bearer ${operator.token}` },
    })
    expect(slip.status).toBe(200)
    expect(slip.headers.get('content-type')).toContain('text/html')
    const html = await slip.text()
    expect(html).toContain('EA123456789CN')
    expect(html).toContain(id)
    expect(html).toContain('<svg')
    expect(html).toContain('夫妻投靠户口迁移')
    expect(html).not.toContain(applicant.idNumber)
    expect((await shaanxi.call('GET', `/v1/cases/${id}/transfer-slip`)).status).toBe(404)
    const early = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
    expect(early.status).toBe(409)
    expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'materials_received' })).status).toBe(201)
    expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  })

  void residentId
})
