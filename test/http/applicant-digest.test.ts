/**
 * PROTOCOL 1.1 §5 salted applicant digests: results name the applicant by `idSalt` + `idDigest`; v1 `idHash`
 * is still accepted; `POST /v1/results/verify` with an applicant answers `applicantMatches`; the console's
 * result page offers that check to a clerk as a POST form; the evidence bundle carries the case's applicant
 * under the result's salt. The number never reaches a URL or the log.
 */
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { CompactSign } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { applicantIdDigest, saltedApplicant } from '../../src/security/applicant-digest.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import type { EvidenceBundle } from '../../src/services/results/evidence.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { applicant, hukouCertificate, hukouResultClaims, residentId } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { consoleSignIn, csrfOf } from '../helpers/console.js'

const lines: string[] = []
const logStream = new Writable({
  write(chunk, _enc, cb) {
    lines.push(String(chunk))
    cb()
  },
})

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let n = 0
const other = residentId('42030319900307124')
const lower = applicant.idNumber.toLowerCase()

beforeAll(async () => {
  t = await createTestApp({ logger: createLogger('info', logStream) })
  shiyan = await t.client('shiyan-digest', ['420300'])
  xiangyang = await t.client('xiangyang-digest', ['420600'])
  // The number has a check character X, so that a clerk typing x is covered.
  expect(applicant.idNumber).toMatch(/X$/)
}, 120_000)
afterAll(async () => {
  await t?.close()
})

async function acceptedCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', hukouCertificate(), { 'idempotency-key': `digest-${n++}` })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
  expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  return id
}

async function signedResult(id: string, applicantClaim: Record<string, string>): Promise<string> {
  const claims = {
    ...hukouResultClaims({ iss: 'xiangyang-digest', sub: id, idHash: '', decisionNumber: '襄公户证〔2026〕7号' }),
  }
  return new CompactSign(new TextEncoder().encode(JSON.stringify({ ...claims, applicant: applicantClaim })))
    .setProtectedHeader({ alg: xiangyang.key.alg, kid: xiangyang.key.kid, typ: 'tongban-result+jwt' })
    .sign(xiangyang.key.privateKey)
}

const v1Hash = (idNumber: string) => createHash('sha256').update(`resident_id:${idNumber}`).digest('base64url')

describe('salted applicant digests in results', () => {
  let salted: string
  let id: string

  beforeAll(async () => {
    id = await acceptedCase()
    salted = await signedResult(id, await saltedApplicant('resident_id', applicant.idNumber))
  })

  it('recognises a v1.1 result that names the applicant by idSalt + idDigest', async () => {
    const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: salted })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.recognition).toEqual(expect.any(String))
    expect(res.body.claims.applicant).toEqual({ idSalt: expect.any(String), idDigest: expect.any(String) })
  })

  it('refuses a salted digest of another person, and still accepts v1’s idHash', async () => {
    const wrong = await acceptedCase()
    const res = await xiangyang.call('POST', `/v1/cases/${wrong}/result`, {
      result: await signedResult(wrong, await saltedApplicant('resident_id', other)),
    })
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(JSON.stringify(res.body)).toContain('the applicant hash does not match')
    expect(JSON.stringify(res.body)).not.toContain(other)

    const v1 = await acceptedCase()
    const old = await xiangyang.call('POST', `/v1/cases/${v1}/result`, {
      result: await signedResult(v1, { idHash: v1Hash(applicant.idNumber) }),
    })
    expect(old.status, JSON.stringify(old.body)).toBe(201)
  })

  it('POST /v1/results/verify answers applicantMatches for an applicant given, and only then', async () => {
    const ask = (body: unknown) => t.call('POST', '/v1/results/verify', body)
    const plain = await ask({ result: salted })
    expect(plain.status).toBe(200)
    expect(plain.body).toMatchObject({ valid: true })
    expect(plain.body).not.toHaveProperty('applicantMatches')
    for (const [idNumber, matches] of [
      [applicant.idNumber, true],
      [lower, true],
      [other, false],
    ] as const) {
      const res = await ask({ result: salted, applicant: { idType: 'resident_id', idNumber } })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect([idNumber, res.body.applicantMatches, res.body.valid]).toEqual([idNumber, matches, true])
      expect(JSON.stringify(res.body)).not.toContain(idNumber)
    }
    const wrongType = await ask({ result: salted, applicant: { idType: 'passport', idNumber: applicant.idNumber } })
    expect(wrongType.body.applicantMatches).toBe(false)
    // A v1 issuer's result is checked against its idHash.
    const v1 = await signedResult(id, { idHash: v1Hash(applicant.idNumber) })
    expect((await ask({ result: v1, applicant: { idType: 'resident_id', idNumber: lower } })).body).toMatchObject({
      applicantMatches: true,
    })
    // Not a result at all: no applicant to match.
    expect((await ask({ result: 'a.b.c', applicant: { idType: 'resident_id', idNumber: other } })).body).toMatchObject({
      valid: false,
      applicantMatches: false,
    })
  })

  it.each<[string, unknown]>([
    ['an applicant without its number', { idType: 'resident_id' }],
    ['an unknown member', { idType: 'resident_id', idNumber: other, name: '张三' }],
    ['an empty number', { idType: 'resident_id', idNumber: '' }],
    ['a number too long', { idType: 'resident_id', idNumber: '1'.repeat(65) }],
  ])('refuses %s with 400, naming the path and not the number', async (_name, given) => {
    const res = await t.call('POST', '/v1/results/verify', { result: salted, applicant: given })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.code).toBe('validation_failed')
    expect(JSON.stringify(res.body.errors)).toContain('applicant')
    expect(JSON.stringify(res.body)).not.toContain(other)
  })

  it('the console’s result page lets a clerk check the applicant by a POST form; the number stays out of URLs', async () => {
    // The window that collected the case checks the result at pick-up.
    const clerk = await t.operator('420303', 'ZW-DIGEST-01', '王窗口')
    const submitted = await clerk.call('POST', '/v1/cases', hukouCertificate(), { 'idempotency-key': 'digest-window' })
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201)
    const id = submitted.body.case.id as string
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
    expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
    const posted = await xiangyang.call('POST', `/v1/cases/${id}/result`, {
      result: await signedResult(id, await saltedApplicant('resident_id', applicant.idNumber)),
    })
    expect(posted.status, JSON.stringify(posted.body)).toBe(201)
    const b = await consoleSignIn(t, clerk.token)
    const page = await b.get(`/console/cases/${id}`)
    const html = await page.text()
    expect(page.status).toBe(200)
    const form = new RegExp(
      `<form method="post" action="/console/cases/${id}/applicant-check"[^>]*>([\\s\\S]*?)</form>`,
    ).exec(html)
    expect(form, 'the check form').not.toBeNull()
    expect(form![1]).toContain('name="idNumber"')
    expect(form![1]).toContain('<option value="resident_id" selected>')
    for (const [idNumber, text] of [
      [lower, '核对一致'],
      [other, '核对不一致'],
    ] as const) {
      const res = await b.post(`/console/cases/${id}/applicant-check`, {
        _csrf: csrfOf(html),
        idType: 'resident_id',
        idNumber,
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('location')).toBeNull()
      const answer = await res.text()
      expect(answer).toContain(text)
      expect(answer).not.toContain(idNumber)
    }
    // Without the session's CSRF token nothing is checked.
    const forged = await b.post(`/console/cases/${id}/applicant-check`, {
      _csrf: 'x',
      idType: 'resident_id',
      idNumber: other,
    })
    expect(await forged.text()).not.toContain('核对')
  })

  it('the evidence bundle digests the case’s applicant under the result’s salt, and the verifier compares them', async () => {
    const res = await shiyan.call('GET', `/v1/cases/${id}/evidence`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const bundle = res.body as EvidenceBundle
    const resultApplicant = JSON.parse(Buffer.from(salted.split('.')[1]!, 'base64url').toString()).applicant
    expect(bundle.case.applicant).toEqual({ kind: 'person', idType: 'resident_id', ...resultApplicant })
    expect(bundle.case.applicant).not.toHaveProperty('idHash')
    const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
    expect(verifyEvidence(bundle, jwks).problems).toEqual([])
    // The case's digest under the result's salt, edited: the gateway's signature and the binding both fail.
    const edited = structuredClone(bundle)
    edited.case.applicant.idDigest = await applicantIdDigest(
      'resident_id',
      other,
      Buffer.from(resultApplicant.idSalt, 'base64url'),
    )
    const verdict = verifyEvidence(edited, jwks)
    expect(verdict.valid).toBe(false)
    expect(verdict.problems).toContainEqual({
      where: 'result',
      problem: 'the applicant hash does not match the case’s applicant',
    })
    expect(JSON.stringify(bundle)).not.toContain(applicant.idNumber)
  })

  it('a case without a result has its applicant under a fresh salt in the bundle', async () => {
    const open = await acceptedCase()
    const first = (await shiyan.call('GET', `/v1/cases/${open}/evidence`)).body as EvidenceBundle
    const second = (await shiyan.call('GET', `/v1/cases/${open}/evidence`)).body as EvidenceBundle
    expect(first.case.applicant.idSalt).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(first.case.applicant.idSalt).not.toBe(second.case.applicant.idSalt)
    expect(first.case.applicant.idDigest).toBe(
      await applicantIdDigest(
        'resident_id',
        applicant.idNumber,
        Buffer.from(first.case.applicant.idSalt!, 'base64url'),
      ),
    )
  })

  it('left no identity number in the log', () => {
    expect(lines.length).toBeGreaterThan(0)
    const log = lines.join('')
    for (const number of [applicant.idNumber, lower, other]) expect(log).not.toContain(number)
  })
})
