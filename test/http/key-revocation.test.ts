/**
 * Keys rotated and keys revoked as compromised: a rotated key still verifies what it signed;
 * a revoked key verifies only what was signed (`iat`) before its revocation time, here (results,
 * assertions, evidence) and offline (`tongban verify`, `tongban verify-evidence`), through the published
 * `revokedAt`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CompactSign, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import { createRuntime, type Runtime } from '../../src/main.js'
import { rotateKeySet } from '../../src/security/keys.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { applicant, hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { type ClientKey, newClientKey, signAssertion } from '../helpers/client-assertion.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let dir: string
let n = 0
const idHash = createHash('sha256').update(`resident_id:${applicant.idNumber}`).digest('base64url')
// Signing times of the results, in seconds; the revocations below fall between them.
const T0 = Date.parse('2026-09-01T00:00:00Z') / 1000
const iso = (s: number) => new Date(s * 1000).toISOString()

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-kr', ['420300'])
  xiangyang = await t.client('xiangyang-kr', ['420600'])
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-keys-'))
})
afterAll(async () => {
  await t?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function acceptedCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `KR-${n}` })), {
    'idempotency-key': `kr-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
  expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })).status).toBe(201)
  return id
}

function claims(caseId: string, iat: number, iss = 'xiangyang-kr') {
  return {
    iss,
    sub: caseId,
    aud: '420303',
    iat,
    jti: randomUUID(),
    item: 'hukou-certificate',
    region: '420600',
    outcome: 'approved',
    decision: { number: '襄公户证〔2026〕7号', date: '2026-09-30' },
    applicant: { idHash },
    certificates: [],
    documents: [],
    trust: 'B',
  }
}

async function sign(payload: Record<string, unknown>, key: { alg: string; kid: string; privateKey: unknown }) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'tongban-result+jwt' })
    .sign(key.privateKey as Parameters<CompactSign['sign']>[0])
}

/** A request of `clientId` signed with `key` (a client that rotated its keys). */
async function callAs(clientId: string, key: ClientKey, method: string, pathAndQuery: string, body: unknown) {
  const text = body === undefined ? undefined : JSON.stringify(body)
  const assertion = await signAssertion({
    clientId,
    key,
    audience: t.gatewayId,
    method,
    pathAndQuery,
    ...(text !== undefined ? { body: text } : {}),
    now: t.clock.now(),
  })
  return t.call(method, pathAndQuery, text, { authorization: `Bearer ${assertion}` })
}

const verify = async (jws: string) => (await t.call('POST', '/v1/results/verify', { result: jws })).body

describe('a client key revoked as compromised', () => {
  it('refuses what it signed at or after the revocation time, and still verifies what it signed before', async () => {
    const key = await newClientKey()
    const system = await t.client('xiangyang-kr-2', ['420600'])
    // The system's own key set holds the key that will be compromised.
    await t.runtime.deps.admin.clients.setKeys(system.id, { keys: [...system.key.jwks.keys, ...key.jwks.keys] }, null)
    t.runtime.deps.admin.onClientChanged?.(system.id)
    const beforeCase = await acceptedCase()
    const afterCase = await acceptedCase()
    const signedBefore = await sign(claims(beforeCase, T0, system.id), key)
    const signedAfter = await sign(claims(afterCase, T0 + 7200, system.id), key)

    const revoked = await t.security('POST', '/v1/admin/key-revocations', {
      issuer: system.id,
      kid: key.kid,
      revokedAt: iso(T0 + 3600),
      reason: 'private key leaked',
    })
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201)
    expect(revoked.body).toMatchObject({ issuer: system.id, kid: key.kid, revokedAt: iso(T0 + 3600) })

    const ok = await system.call('POST', `/v1/cases/${beforeCase}/result`, { result: signedBefore })
    expect(ok.status, JSON.stringify(ok.body)).toBe(201)
    expect(ok.body.recognition).toEqual(expect.any(String))
    expect(await verify(signedBefore)).toMatchObject({ valid: true, reasons: [] })

    const refused = await system.call('POST', `/v1/cases/${afterCase}/result`, { result: signedAfter })
    expect(refused.status).toBe(422)
    expect(refused.body.code).toBe('result_refused')
    expect(refused.body.detail).toContain(
      `key_revoked: key ${key.kid} of ${system.id} was revoked at ${iso(T0 + 3600)}`,
    )
    const verdict = await verify(signedAfter)
    expect(verdict.valid).toBe(false)
    expect(verdict.reasons.join('; ')).toContain('key_revoked')

    // Offline: the key set as the evidence publishes it carries revokedAt, and tongban verify applies it.
    const bundle = (await shiyan.call('GET', `/v1/cases/${beforeCase}/evidence`)).body
    const published = bundle.keys[system.id].keys.find((k: { kid: string }) => k.kid === key.kid)
    expect(published.revokedAt).toBe(iso(T0 + 3600))
    expect(verifyEvidence(bundle, (await t.call('GET', '/.well-known/jwks.json')).body).problems).toEqual([])
    const jwks = path.join(dir, 'client-jwks.json')
    await writeFile(jwks, JSON.stringify(bundle.keys[system.id]))
    const good = await runCli(['verify', signedBefore, '--jwks', jwks])
    expect(good.code, good.stdout).toBe(0)
    const bad = await runCli(['verify', signedAfter, '--jwks', jwks])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout).reasons.join('; ')).toContain('key_revoked')
  })

  it('refuses the client’s assertions signed with it from then on', async () => {
    const system = await t.client('zw-kr-assert', ['420303'])
    expect((await system.call('GET', '/v1/cases')).status).toBe(200)
    const res = await t.security('POST', '/v1/admin/key-revocations', {
      issuer: system.id,
      kid: system.key.kid,
      revokedAt: t.clock.now().toISOString(),
    })
    expect(res.status).toBe(201)
    const after = await system.call('GET', '/v1/cases')
    expect(after.status).toBe(401)
    expect(after.body.detail).toContain('key revoked')
  })

  it('applies a revocation that the client’s own key set publishes (revokedAt), to its assertions and results', async () => {
    const key = await newClientKey()
    const marked = { keys: [{ ...key.publicJwk, revokedAt: '2026-09-01T00:00:00Z' }] }
    const res = await t.admin('POST', '/v1/admin/clients', { id: 'zw-kr-published', regions: ['420303'], jwks: marked })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const asIt = await callAs('zw-kr-published', key, 'GET', '/v1/cases', undefined)
    expect(asIt.status).toBe(401)
    expect(asIt.body.detail).toContain('key revoked')
    const id = await acceptedCase()
    const late = await sign(claims(id, T0 + 86_400 * 30, 'zw-kr-published'), key)
    expect((await verify(late)).reasons.join('; ')).toContain('key_revoked: key')
    // Signed before the published revocation time: it verifies.
    expect(await verify(await sign(claims(id, T0 - 86_400, 'zw-kr-published'), key))).toMatchObject({ valid: true })
  })

  it('security administrators only; unknown clients and keys, and the gateway’s current key, are refused; a later time never replaces an earlier one', async () => {
    const operator = await t.operator('420303', 'ZW-KR')
    const body = { issuer: xiangyang.id, kid: xiangyang.key.kid, revokedAt: '2030-01-01T00:00:00Z' }
    expect((await operator.call('POST', '/v1/admin/key-revocations', body)).status).toBe(403)
    expect((await xiangyang.call('GET', '/v1/admin/key-revocations')).status).toBe(403)
    const unknownClient = await t.security('POST', '/v1/admin/key-revocations', { ...body, issuer: 'nobody' })
    expect(unknownClient.status).toBe(404)
    const unknownKid = await t.security('POST', '/v1/admin/key-revocations', { ...body, kid: 'no-such-kid' })
    expect(unknownKid.status).toBe(422)
    const current = (await t.call('GET', '/.well-known/jwks.json')).body.keys[0].kid
    const own = await t.security('POST', '/v1/admin/key-revocations', {
      kid: current,
      revokedAt: '2030-01-01T00:00:00Z',
    })
    expect(own.status).toBe(409)
    expect(own.body.detail).toContain('rotate first')
    const bad = await t.security('POST', '/v1/admin/key-revocations', { ...body, revokedAt: 'tomorrow' })
    expect(bad.status).toBe(400)

    const first = await t.security('POST', '/v1/admin/key-revocations', body)
    expect(first.status).toBe(201)
    const later = await t.security('POST', '/v1/admin/key-revocations', { ...body, revokedAt: '2031-01-01T00:00:00Z' })
    expect(later.body.revokedAt).toBe('2030-01-01T00:00:00.000Z')
    const earlier = await t.security('POST', '/v1/admin/key-revocations', {
      ...body,
      revokedAt: '2029-06-01T00:00:00Z',
    })
    expect(earlier.body.revokedAt).toBe('2029-06-01T00:00:00.000Z')
    const list = await t.security('GET', '/v1/admin/key-revocations')
    expect(list.status).toBe(200)
    expect(list.body.revocations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ issuer: xiangyang.id, revokedAt: '2029-06-01T00:00:00.000Z' }),
      ]),
    )
  })
})

describe('tongban keys revoke', () => {
  it('records a revocation from the command line, refuses the current key, and lists them', async () => {
    const env = t.cliEnv
    const system = await t.client('xiangyang-kr-cli', ['420600'])
    const at = '2026-10-01T08:00:00+08:00'
    const res = await runCli(
      ['keys', 'revoke', system.key.kid, '--at', at, '--client', system.id, '--reason', 'leak'],
      env,
    )
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain(`revoked key ${system.key.kid} of ${system.id} from 2026-10-01T00:00:00.000Z`)
    const list = (await t.security('GET', '/v1/admin/key-revocations')).body.revocations
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ issuer: system.id, kid: system.key.kid, reason: 'leak', recordedBy: 'cli' }),
      ]),
    )
    const current = (await t.call('GET', '/.well-known/jwks.json')).body.keys[0].kid
    const own = await runCli(['keys', 'revoke', current, '--at', at], env)
    expect(own.code).toBe(1)
    expect(own.stderr).toContain('rotate first')
    const usage = await runCli(['keys', 'revoke', current], env)
    expect(usage.code).toBe(2)
    const shown = await runCli(['keys', 'revocations'], env)
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain(system.key.kid)
  }, 60_000)
})

describe('a rotated client key', () => {
  it('still verifies, and is recognised, for what it signed before the rotation', async () => {
    const system = await t.client('xiangyang-kr-rot', ['420600'])
    const id = await acceptedCase()
    const signedWithOld = await sign(claims(id, T0, system.id), system.key)
    // The system rotates: a new key first, the old one kept in its set.
    const next: ClientKey = await newClientKey('EdDSA')
    await t.runtime.deps.admin.clients.setKeys(system.id, { keys: [...next.jwks.keys, ...system.key.jwks.keys] }, null)
    t.runtime.deps.admin.onClientChanged?.(system.id)
    expect(await verify(signedWithOld)).toMatchObject({ valid: true })
    // It now signs its requests with the new key, and posts the result it signed with the old one.
    const res = await callAs(system.id, next, 'POST', `/v1/cases/${id}/result`, { result: signedWithOld })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.recognition).toEqual(expect.any(String))
    const id2 = await acceptedCase()
    expect(await verify(await sign(claims(id2, T0 + 60, system.id), next))).toMatchObject({ valid: true })
  })
})

describe('the gateway’s own keys, rotated then revoked', () => {
  let second: Runtime | undefined
  afterAll(async () => {
    await second?.close()
  })

  it('earlier receipts and results verify after rotation; a revoked key is published with revokedAt and refused from then on', async () => {
    // A result the gateway attested and a case's receipts, all with the first key.
    const id = await acceptedCase()
    const attested = await xiangyang.call('POST', `/v1/cases/${id}/result`, {
      outcome: 'approved',
      decision: { number: '襄公户证〔2026〕9号', date: '2026-09-30' },
      trust: 'B',
    })
    expect(attested.status, JSON.stringify(attested.body)).toBe(201)
    const oldKid = (await t.call('GET', '/.well-known/jwks.json')).body.keys[0].kid

    // Rotate (tongban keys rotate) and restart: a second process on the same database and key set.
    const { kid: newKid } = await rotateKeySet({ dataDir: t.config.dataDir })
    second = await createRuntime(t.config, createLogger('silent'), { clock: t.clock, workers: false })
    const app = createApp(second.deps)
    const get = async (p: string, headers: Record<string, string> = {}) => {
      const res = await app.request(p, { headers })
      return { status: res.status, body: (await res.json()) as any }
    }
    const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await app.request(p, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      })
      return { status: res.status, body: (await res.json()) as any }
    }
    const jwks = (await get('/.well-known/jwks.json')).body
    // The SM2 key generated beside the ES256 one on first start stays published after them.
    expect(jwks.keys.map((k: { kid: string }) => k.kid).slice(0, 2)).toEqual([newKid, oldKid])
    expect(jwks.keys.map((k: { alg: string }) => k.alg)).toEqual(['ES256', 'ES256', 'SM2'])
    expect((await post('/v1/results/verify', { result: attested.body.result })).body).toMatchObject({ valid: true })
    const admin = { authorization: `Bearer ${t.adminToken}` }
    const bundle = (await get(`/v1/cases/${id}/evidence`, admin)).body
    expect(verifyEvidence(bundle, jwks).problems).toEqual([])

    // The old key is found compromised from a time after those signatures.
    const iat = JSON.parse(Buffer.from(attested.body.result.split('.')[1], 'base64url').toString()).iat as number
    const revokedAt = iso(iat + 60)
    const security = { authorization: `Bearer ${t.securityToken}` }
    const r = await post('/v1/admin/key-revocations', { kid: oldKid, revokedAt, reason: 'HSM lost' }, security)
    expect(r.status, JSON.stringify(r.body)).toBe(201)
    const marked = (await get('/.well-known/jwks.json')).body
    expect(marked.keys.find((k: { kid: string }) => k.kid === oldKid).revokedAt).toBe(revokedAt)
    expect(marked.keys.find((k: { kid: string }) => k.kid === newKid).revokedAt).toBeUndefined()
    // What it signed before still verifies, here and offline …
    expect((await post('/v1/results/verify', { result: attested.body.result })).body).toMatchObject({ valid: true })
    expect(verifyEvidence(bundle, marked).problems).toEqual([])
    // … what someone signs with it afterwards does not.
    const keyset = JSON.parse(await readFile(path.join(t.config.dataDir, 'keys', 'keyset.json'), 'utf8'))
    const stolen = keyset.keys.find((k: { kid: string }) => k.kid === oldKid)
    const forged = await sign(
      { ...attested.body.claims, iat: iat + 3600, jti: randomUUID() },
      { alg: stolen.alg, kid: oldKid, privateKey: await importJWK(stolen.privateJwk, stolen.alg) },
    )
    const verdict = (await post('/v1/results/verify', { result: forged })).body
    expect(verdict.valid).toBe(false)
    expect(verdict.reasons.join('; ')).toContain(`key_revoked: key ${oldKid} of gw-test`)
    const file = path.join(dir, 'gateway-jwks.json')
    await writeFile(file, JSON.stringify(marked))
    const offline = await runCli(['verify', forged, '--jwks', file])
    expect(offline.code).toBe(1)
    expect(offline.stdout).toContain('key_revoked')
    // Moved earlier than those signatures: the evidence's receipt and result signed with it are refused too.
    const revokedEarly = (
      await post('/v1/admin/key-revocations', { kid: oldKid, revokedAt: iso(iat - 3600) }, security)
    ).body
    expect(revokedEarly.revokedAt).toBe(iso(iat - 3600))
    const markedEarly = (await get('/.well-known/jwks.json')).body
    const early = verifyEvidence(bundle, markedEarly)
    expect(early.valid).toBe(false)
    expect(early.problems.map((p) => p.where)).toEqual(expect.arrayContaining(['receipts[0] (intake)', 'result']))
    expect(early.problems.find((p) => p.where === 'result')?.problem).toContain('key_revoked')
  })
})
