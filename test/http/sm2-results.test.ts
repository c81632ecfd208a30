/**
 * A deployment with SIGNING_ALG=SM2: results a processing system signed with SM2 are verified, recognised
 * and shown; what the gateway signs itself (attested results, recognitions, evidence bundles) is SM2; and
 * `POST /v1/results/verify`, `tongban verify` and `tongban verify-evidence` check ES256, EdDSA and SM2 alike.
 */
import { createHash, randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import type { EvidenceBundle } from '../../src/services/results/evidence.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { applicant, hukouCertificate, hukouResultClaims } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { type ClientKey, newClientKey, signJws } from '../helpers/client-assertion.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let shiyan: TestClient // signs with SM2
let xiangyang: TestClient // 襄阳's processing system, signs its results with SM2
let xiangyangEd: TestClient // another of 襄阳's systems, EdDSA
let dir: string
let n = 0
const idHash = createHash('sha256').update(`resident_id:${applicant.idNumber}`).digest('base64url')
const algOf = (jws: string | null) => JSON.parse(Buffer.from(String(jws).split('.')[0]!, 'base64url').toString()).alg

beforeAll(async () => {
  t = await createTestApp({ env: { SIGNING_ALG: 'SM2' } })
  shiyan = await t.client('shiyan-sm2r', ['420300'], 'SM2')
  xiangyang = await t.client('xiangyang-sm2r', ['420600'], 'SM2')
  xiangyangEd = await t.client('xiangyang-edr', ['420600'], 'EdDSA')
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-sm2-results-'))
})
afterAll(async () => {
  await t?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function acceptedCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `S-${n}` })), {
    'idempotency-key': `s-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
  expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  return id
}

const resultOf = (id: string, key: ClientKey, iss: string) =>
  signJws(
    key,
    { alg: key.alg, kid: key.kid, typ: 'tongban-result+jwt' },
    hukouResultClaims({ iss, sub: id, idHash, decisionNumber: `襄公户证〔2026〕${n}号` }),
  )

describe('SIGNING_ALG=SM2', () => {
  it('publishes the SM2 key first and still an ES256 key', async () => {
    const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
    expect(jwks.keys.map((k: { alg: string }) => k.alg)).toEqual(['SM2', 'ES256'])
  })

  it('recognises a result signed with SM2, with an SM2 recognition, and anyone can verify it', async () => {
    const id = await acceptedCase()
    const jws = await resultOf(id, xiangyang.key, 'xiangyang-sm2r')
    expect(algOf(jws)).toBe('SM2')
    const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result: jws })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({ issuer: 'xiangyang-sm2r', attested: false, recognition: expect.any(String) })
    expect(algOf(res.body.recognition)).toBe('SM2')
    const got = await shiyan.call('GET', `/v1/cases/${id}/result`)
    expect(got.body).toMatchObject({ result: jws, verification: { issuer: 'xiangyang-sm2r', attested: false } })
    const verdict = await t.call('POST', '/v1/results/verify', { result: jws })
    expect(verdict.body).toMatchObject({ valid: true, reasons: [], issuer: 'xiangyang-sm2r', case: id })
    const [h, , sig] = jws.split('.')
    const edited = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()), trust: 'A' })).toString('base64url')}.${sig}`
    const refused = await t.call('POST', '/v1/results/verify', { result: edited })
    expect(refused.body.valid).toBe(false)
    expect(refused.body.reasons).toContain('signature does not verify')
  })

  it('attests a legacy system’s result with SM2', async () => {
    const id = await acceptedCase()
    const res = await xiangyang.call('POST', `/v1/cases/${id}/result`, {
      outcome: 'approved',
      decision: { number: '襄公户证〔2026〕7号', date: '2026-09-30' },
      trust: 'B',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.claims).toMatchObject({ iss: 'gw-test', att: 'gateway' })
    expect(algOf(res.body.result)).toBe('SM2')
    expect((await t.call('POST', '/v1/results/verify', { result: res.body.result })).body).toMatchObject({
      valid: true,
    })
  })

  it('signs the evidence bundle with SM2; it verifies offline in process and with tongban verify-evidence', async () => {
    const id = await acceptedCase()
    const posted = await xiangyang.call('POST', `/v1/cases/${id}/result`, {
      result: await resultOf(id, xiangyang.key, 'xiangyang-sm2r'),
    })
    expect(posted.status, JSON.stringify(posted.body)).toBe(201)
    const res = await shiyan.call('GET', `/v1/cases/${id}/evidence`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const bundle = res.body as EvidenceBundle
    const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
    const verdict = verifyEvidence(bundle, jwks)
    expect(verdict.problems).toEqual([])
    expect(verdict.valid).toBe(true)
    expect([bundle.signature, bundle.submission.assertion, bundle.receipts[0]!.jws].map(algOf)).toEqual([
      'SM2',
      'SM2',
      'SM2',
    ])
    const jwksFile = path.join(dir, 'jwks.json')
    await writeFile(jwksFile, JSON.stringify(jwks))
    const file = path.join(dir, `bundle-${randomUUID()}.json`)
    await writeFile(file, JSON.stringify(bundle))
    const out = await runCli(['verify-evidence', file, '--jwks', jwksFile])
    expect(out.code, out.stderr + out.stdout).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({ valid: true, case: id })
    // An edit anywhere in an SM2-signed artefact is found.
    const tampered = structuredClone(bundle)
    tampered.submission.assertion = String(tampered.submission.assertion).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
    expect(verifyEvidence(tampered, jwks).valid).toBe(false)
  }, 120_000)

  it('tongban verify checks SM2, EdDSA and ES256 results offline with only the issuers’ public keys', async () => {
    const es = await t.client('xiangyang-esr', ['420600'], 'ES256')
    for (const [who, iss] of [
      [xiangyang, 'xiangyang-sm2r'],
      [xiangyangEd, 'xiangyang-edr'],
      [es, 'xiangyang-esr'],
    ] as const) {
      const id = await acceptedCase()
      const jws = await resultOf(id, who.key, iss)
      const jwks = path.join(dir, `${iss}.json`)
      await writeFile(jwks, JSON.stringify(who.key.jwks))
      const ok = await runCli(['verify', jws, '--jwks', jwks])
      expect(ok.code, `${who.key.alg}: ${ok.stderr}`).toBe(0)
      expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, issuer: iss, case: id })
      // Another key of the same algorithm under the same kid: the signature does not verify.
      const stranger = await newClientKey(who.key.alg)
      const other = path.join(dir, `other-${iss}.json`)
      await writeFile(other, JSON.stringify({ keys: [{ ...stranger.publicJwk, kid: who.key.kid }] }))
      const bad = await runCli(['verify', jws, '--jwks', other])
      expect(bad.code, who.key.alg).toBe(1)
      expect(JSON.parse(bad.stdout).reasons).toContain('signature does not verify')
    }
  }, 240_000)
})
