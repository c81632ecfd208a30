/**
 * Results (PROTOCOL §5) on one gateway: signed by the processing system's own, independently generated
 * key, or attested by the gateway; verified, matched against the case, recognised; and every kind of
 * wrong result refused with its reason, by the submission and by the public verification.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CompactSign } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { applicant, hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { type ClientKey, newClientKey } from '../helpers/client-assertion.js'
import { consoleSignIn } from '../helpers/console.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let n = 0
const idHash = createHash('sha256').update(`resident_id:${applicant.idNumber}`).digest('base64url')
const validCert = '1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U'
const badCert = '1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M'

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-results', ['420300'])
  xiangyang = await t.client('xiangyang-results', ['420600'])
})
afterAll(async () => {
  await t?.close()
})

/** A case delivered to 襄阳 and accepted there, ready for its result. */
async function acceptedCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `R-${n}` })), {
    'idempotency-key': `r-${n++}`,
  })
  const id = res.body.case.id as string
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
  expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  return id
}

function claims(caseId: string, overrides: Record<string, unknown> = {}) {
  return {
    iss: 'xiangyang-results',
    sub: caseId,
    aud: '420303',
    iat: Math.floor(Date.now() / 1000),
    jti: `res-${Math.random()}`,
    item: 'hukou-certificate',
    region: '420600',
    outcome: 'approved',
    decision: { number: '襄公户证〔2026〕18号', date: '2026-09-30' },
    applicant: { idHash },
    certificates: [{ id: validCert, type: '户籍证明', validFrom: '2026-09-30', validTo: null, sha256: 'a'.repeat(64) }],
    documents: [],
    trust: 'B',
    ...overrides,
  }
}

async function sign(payload: Record<string, unknown>, key: ClientKey = xiangyang.key, typ = 'tongban-result+jwt') {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
    .sign(key.privateKey)
}

const types = async (id: string) =>
  (await shiyan.call('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)

describe('results', () => {
  it('records a result signed by the processing system’s key, recognises it, and anyone can verify it', async () => {
    const id = await acceptedCase()
    const jws = await sign(claims(id))
    const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: jws })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({ issuer: 'xiangyang-results', attested: false, recognition: expect.any(String) })
    expect(await types(id)).toEqual(['submitted', 'dispatched', 'accepted', 'completed', 'recognized'])
    const kase = (await shiyan.call('GET', `/v1/cases/${id}`)).body
    expect(kase).toMatchObject({ status: 'completed', outcome: 'approved' })
    const got = await shiyan.call('GET', `/v1/cases/${id}/result`)
    expect(got.body).toMatchObject({ result: jws, verification: { issuer: 'xiangyang-results', attested: false } })
    const verdict = await t.call('POST', '/v1/results/verify', { result: jws })
    expect(verdict.status).toBe(200)
    expect(verdict.body).toMatchObject({ valid: true, reasons: [], issuer: 'xiangyang-results', case: id, trust: 'B' })
    // One result per case.
    expect((await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: jws })).status).toBe(409)
  })

  it('attests the fields of a system that cannot sign (att: gateway)', async () => {
    const id = await acceptedCase()
    const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, {
      outcome: 'approved',
      decision: { number: '襄公户证〔2026〕19号', date: '2026-09-30' },
      trust: 'B',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    // PROTOCOL 1.1 §5: the gateway names the applicant by a salted digest, never by v1's idHash.
    expect(res.body.claims).toMatchObject({ iss: 'gw-test', att: 'gateway', aud: '420303' })
    expect(Object.keys(res.body.claims.applicant).sort()).toEqual(['idDigest', 'idSalt'])
    const verdict = await t.call('POST', '/v1/results/verify', { result: res.body.result })
    expect(verdict.body).toMatchObject({ valid: true, issuer: 'gw-test' })
  })

  it.each([
    ['a wrong aud', { aud: '420302' }, 'not the origin region'],
    ['a wrong sub', { sub: '00000000-0000-7000-8000-000000000000' }, 'not case'],
    ['a wrong applicant', { applicant: { idHash: 'x'.repeat(43) } }, 'applicant hash'],
    ['a trust level below the agreement’s minimum', { trust: 'C' }, 'below the agreement’s minimum B'],
    [
      'a certificate id with a bad check character',
      {
        certificates: [
          { id: badCert, type: '户籍证明', validFrom: '2026-09-30', validTo: null, sha256: 'a'.repeat(64) },
        ],
      },
      'certificates[0].id',
    ],
  ])('refuses %s with its reason, and the case shows it', async (_name, overrides, reason) => {
    const id = await acceptedCase()
    const jws = await sign(claims(id, { jti: 'refused-1', ...overrides }))
    const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: jws })
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(res.body.code).toBe('result_refused')
    expect(res.body.detail).toContain(reason)
    expect(await types(id)).toEqual(['submitted', 'dispatched', 'accepted', 'recognition_failed'])
    const failed = (await shiyan.call('GET', `/v1/cases/${id}/events`)).body.events.at(-1)
    expect(failed).toMatchObject({
      type: 'recognition_failed',
      actor: 'gateway',
      data: { reasons: [expect.stringContaining(reason)], issuer: 'xiangyang-results', jti: 'refused-1' },
    })
    expect(JSON.stringify(failed)).not.toContain(applicant.idNumber)
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body.status).toBe('accepted')
  })

  it('records a refusal (wrong aud) on the case without changing its status; a correct result is then recognised', async () => {
    const refusedOpen = async () => (await t.runtime.metrics.checkAlerts()).results_refused
    const before = await refusedOpen()
    const id = await acceptedCase()
    expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'in_review' })).status).toBe(201)
    const wrong = await xiangyang.call('POST', `/v1/cases/${id}/result`, {
      result: await sign(claims(id, { aud: '420302' })),
    })
    expect(wrong.status, JSON.stringify(wrong.body)).toBe(422)
    expect(wrong.body.errors).toEqual([{ path: 'result', message: 'aud is 420302, not the origin region 420303' }])
    const events = (await shiyan.call('GET', `/v1/cases/${id}/events`)).body.events
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      'submitted',
      'dispatched',
      'accepted',
      'in_review',
      'recognition_failed',
    ])
    expect(events.at(-1).data.reasons).toEqual(['aud is 420302, not the origin region 420303'])
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body).toMatchObject({ status: 'in_review', outcome: null })
    expect((await shiyan.call('GET', `/v1/cases/${id}/result`)).status).toBe(404)
    // An admin sees it: the alert counts the case while it waits for a result it can recognise.
    expect(await refusedOpen()).toBe(before + 1)
    const scraped = await (await t.app.request('/metrics')).text()
    expect(scraped).toContain(`tongban_alert{kind="results_refused"} ${before + 1}`)
    // … and the case's timeline in the console says why.
    const page = await (await (await consoleSignIn(t, t.adminToken)).get(`/console/cases/${id}`)).text()
    expect(page).toContain('未能互认办理结果')
    expect(page).toContain('aud is 420302, not the origin region 420303')

    const right = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: await sign(claims(id)) })
    expect(right.status, JSON.stringify(right.body)).toBe(201)
    expect(right.body.recognition).toEqual(expect.any(String))
    expect((await types(id)).slice(-3)).toEqual(['recognition_failed', 'completed', 'recognized'])
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body.status).toBe('completed')
    expect(await refusedOpen()).toBe(before)
  })

  it('recognises a result relayed by a peer gateway for the processing region, signed by a system registered here', async () => {
    // 襄阳's gateway (a client here for 420600) hands back what 襄阳's system signed; the system is registered
    // here too, so its keys verify the result.
    const peer = await t.client('gw-xiangyang-relay', ['420600'])
    const system = await t.client('sim-xiangyang-relay', ['420600'])
    const id = await acceptedCase()
    const jws = await sign(claims(id, { iss: system.id }), system.key)
    const res = await peer.call('POST', `/v1/cases/${id}/result`, { result: jws })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({ issuer: system.id, attested: false, recognition: expect.any(String) })
    expect(await types(id)).toEqual(['submitted', 'dispatched', 'accepted', 'completed', 'recognized'])
    const got = (await shiyan.call('GET', `/v1/cases/${id}/result`)).body
    expect(got.verification).toMatchObject({ issuer: system.id, attested: false, recognition: expect.any(String) })
  })

  it('refuses a relayed result whose issuer is unknown here, or not registered for the processing region', async () => {
    const peer = await t.client('gw-xiangyang-relay-2', ['420600'])
    const stranger = await newClientKey()
    const id = await acceptedCase()
    const unknown = await peer.call('POST', `/v1/cases/${id}/result`, {
      result: await sign(claims(id, { iss: 'sim-nowhere', jti: 'relayed-1' }), stranger),
    })
    expect(unknown.status, JSON.stringify(unknown.body)).toBe(422)
    expect(unknown.body.detail).toContain('unknown issuer sim-nowhere')
    // Signed by a system registered here, but for the origin's region, not the processing one.
    const elsewhere = await peer.call('POST', `/v1/cases/${id}/result`, {
      result: await sign(claims(id, { iss: shiyan.id, jti: 'relayed-2' }), shiyan.key),
    })
    expect(elsewhere.status, JSON.stringify(elsewhere.body)).toBe(422)
    expect(elsewhere.body.detail).toBe(
      `the result's issuer ${shiyan.id} is not registered here for the processing region 420600`,
    )
    const events = (await shiyan.call('GET', `/v1/cases/${id}/events`)).body.events
    expect(events.slice(-2).map((e: { type: string; data: unknown }) => [e.type, e.data])).toEqual([
      [
        'recognition_failed',
        { reasons: [expect.stringContaining('unknown issuer sim-nowhere')], issuer: 'sim-nowhere', jti: 'relayed-1' },
      ],
      [
        'recognition_failed',
        {
          reasons: [`the result's issuer ${shiyan.id} is not registered here for the processing region 420600`],
          issuer: shiyan.id,
          jti: 'relayed-2',
        },
      ],
    ])
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body.status).toBe('accepted')
    // A window operator of the processing region may not hand on a system's signed result.
    const op = await t.operator('420600', 'XY-RELAY')
    const byPerson = await op.call('POST', `/v1/cases/${id}/result`, { result: await sign(claims(id)) })
    expect(byPerson.status).toBe(422)
    expect(byPerson.body.detail).toContain('not by the system that posts it')
    expect((await types(id)).filter((x: string) => x === 'recognition_failed')).toHaveLength(2)
  })

  it('refuses a tampered payload, an unknown issuer and a wrong typ, here and at the public verification', async () => {
    const id = await acceptedCase()
    const good = await sign(claims(id))
    const [h, , s] = good.split('.')
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims(id, { outcome: 'denied' }))).toString('base64url')}.${s}`
    const stranger = await newClientKey()
    const unknown = await sign(claims(id, { iss: 'nobody' }), stranger)
    const wrongTyp = await sign(claims(id), xiangyang.key, 'JWT')
    for (const [jws, reason] of [
      [tampered, 'signature does not verify'],
      [unknown, 'unknown issuer nobody'],
      [wrongTyp, 'typ is JWT'],
    ] as const) {
      const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: jws })
      expect(res.status).toBe(422)
      expect(res.body.detail).toContain(reason)
      const verdict = await t.call('POST', '/v1/results/verify', { result: jws })
      expect(verdict.body.valid).toBe(false)
      expect(verdict.body.reasons.join('; ')).toContain(reason)
    }
    const events = (await shiyan.call('GET', `/v1/cases/${id}/events`)).body.events.slice(3)
    expect(events.map((e: { type: string }) => e.type)).toEqual(Array(3).fill('recognition_failed'))
    expect(events.map((e: { data: { reasons: string[] } }) => e.data.reasons.join('; '))).toEqual([
      expect.stringContaining('signature does not verify'),
      expect.stringContaining('unknown issuer nobody'),
      expect.stringContaining('typ is JWT'),
    ])
  })

  it('takes results only from the processing side, and only once the case may complete', async () => {
    const id = await acceptedCase()
    expect((await shiyan.call('POST', `/v1/cases/${id}/result`, { result: await sign(claims(id)) })).status).toBe(403)
    // Not a party that may post a result: nothing is recorded on the case.
    expect(await types(id)).toEqual(['submitted', 'dispatched', 'accepted'])
    const fresh = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: 'R-early' })), {
      'idempotency-key': 'r-early',
    })
    const early = await xiangyang.call('POST', `/v1/cases/${fresh.body.case.id}/result`, {
      result: await sign(claims(fresh.body.case.id)),
    })
    expect(early.status).toBe(409)
    expect(early.body.code).toBe('invalid_transition')
  })

  it('tongban verify checks a result offline with only the issuer’s public keys', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-verify-'))
    try {
      const id = await acceptedCase()
      const jws = await sign(claims(id))
      const jwks = path.join(dir, 'jwks.json')
      await writeFile(jwks, JSON.stringify(xiangyang.key.jwks))
      const file = path.join(dir, 'result.jws')
      await writeFile(file, jws)
      const ok = await runCli(['verify', file, '--jwks', jwks])
      expect(ok.code, ok.stderr).toBe(0)
      expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, issuer: 'xiangyang-results', case: id })
      const [h, , sig] = jws.split('.')
      const edited = `${h}.${Buffer.from(JSON.stringify(claims(id, { trust: 'A' }))).toString('base64url')}.${sig}`
      const bad = await runCli(['verify', edited, '--jwks', jwks])
      expect(bad.code).toBe(1)
      expect(JSON.parse(bad.stdout).reasons).toContain('signature does not verify')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it('tongban verify without --jwks checks a result against what this gateway trusts', async () => {
    const id = await acceptedCase()
    const jws = await sign(claims(id))
    const env = { DATABASE_URL: t.databaseUrl, TONGBAN_DATA_DIR: t.config.dataDir, GATEWAY_ID: t.gatewayId }
    // The issuer is a system registered here: its keys come from this gateway's configuration.
    const ok = await runCli(['verify', jws], env)
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, issuer: 'xiangyang-results', case: id })
    // A result signed by a system this gateway does not know is not trusted.
    const stranger = await newClientKey('ES256')
    const unknown = await sign(claims(id, { iss: 'somewhere-else' }), stranger)
    const refused = await runCli(['verify', unknown], env)
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stdout).reasons.join(' ')).toMatch(/unknown issuer somewhere-else/)
  }, 120_000)
})
