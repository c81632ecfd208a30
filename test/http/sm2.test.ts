/**
 * PROTOCOL §2 (1.1): a city's system that signs with SM2 submits a case and gets an SM2 receipt that verifies
 * with the gateway's published JWKS; every refusal of §2 holds for SM2 as for ES256.
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodySm3 } from '../../adapters/sim/sm2.js'
import { keySetLookup } from '../../src/security/jwk-set.js'
import { verifyCompact } from '../../src/security/jws.js'
import { CaseCreated } from '../../src/services/cases/schemas.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { bodySha256, newClientKey, signAssertion } from '../helpers/client-assertion.js'

let t: TestApp
let sm2: TestClient // 十堰's system, signing with SM2
let es: TestClient // the same city's older system, signing with ES256
let db: pg.Client

beforeAll(async () => {
  t = await createTestApp()
  sm2 = await t.client('shiyan-sm2', ['420300'], 'SM2')
  es = await t.client('shiyan-es', ['420300'])
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
})
afterAll(async () => {
  await db?.end()
  await t?.close()
})

let n = 0
const idem = () => ({ 'idempotency-key': `sm2-${n++}` })
const part = (jws: string, i: number) => JSON.parse(Buffer.from(jws.split('.')[i]!, 'base64url').toString())

/** Verifies a receipt with the published JWKS only, as any third party would. */
async function verifiesWithPublishedKeys(jws: string): Promise<boolean> {
  const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
  const { alg, kid } = part(jws, 0)
  return keySetLookup(jwks)({ alg, kid }).some((k) => verifyCompact(jws, alg, k))
}

describe('an SM2 caller', () => {
  it('submits a case and receives an SM2 receipt whose req is the SM3 body hash, verifying with the published JWKS', async () => {
    const jwks = (await t.call('GET', '/.well-known/jwks.json')).body
    expect(jwks.keys.map((k: { alg: string; crv: string }) => `${k.alg}/${k.crv}`).sort()).toEqual([
      'ES256/P-256',
      'SM2/SM2',
    ])
    const text = JSON.stringify(hukouCertificate({ externalRef: 'SM2-1' }))
    const res = await sm2.call('POST', '/v1/cases', text, idem())
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const created = CaseCreated.parse(res.body)
    expect(part(created.receipt, 0)).toMatchObject({ alg: 'SM2', typ: 'tongban-receipt+jwt' })
    expect(part(created.receipt, 1)).toMatchObject({ sub: created.case.id, req: bodySm3(Buffer.from(text)) })
    expect(await verifiesWithPublishedKeys(created.receipt)).toBe(true)
    const row = (await db.query('select body_hash, assertion from cases where id = $1', [created.case.id])).rows[0]
    expect(row.body_hash).toBe(bodySm3(Buffer.from(text)))
    expect(part(row.assertion, 0).alg).toBe('SM2')
    // It reads the case back with an SM2 assertion (no body: no bsh).
    const read = await sm2.call('GET', `/v1/cases/${created.case.id}`)
    expect(read.status, JSON.stringify(read.body)).toBe(200)
  })

  it('leaves ES256 callers with ES256 receipts', async () => {
    const text = JSON.stringify(hukouCertificate({ externalRef: 'ES-1' }))
    const res = await es.call('POST', '/v1/cases', text, idem())
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(part(res.body.receipt, 0).alg).toBe('ES256')
    expect(part(res.body.receipt, 1).req).toBe(bodySha256(text))
    expect(await verifiesWithPublishedKeys(res.body.receipt)).toBe(true)
  })
})

describe('the refusals of PROTOCOL §2 hold for SM2', () => {
  const text = JSON.stringify(hukouCertificate({ externalRef: 'SM2-refused' }))
  const assertion = (overrides?: Parameters<typeof signAssertion>[0]['overrides'], key = sm2.key) =>
    signAssertion({
      clientId: sm2.id,
      key,
      audience: t.gatewayId,
      method: 'POST',
      pathAndQuery: '/v1/cases',
      body: text,
      now: t.clock.now(),
      ...(overrides ? { overrides } : {}),
    })
  const post = (token: string) => t.call('POST', '/v1/cases', text, { authorization: `Bearer ${token}`, ...idem() })

  it('refuses a bsh made with SHA-256 under alg SM2', async () => {
    const res = await post(await assertion({ claims: { bsh: bodySha256(text) } }))
    expect(res.status).toBe(401)
    expect(res.body.detail).toContain('bsh mismatch')
  })

  it('refuses a signature over a different input', async () => {
    const good = await assertion()
    const other = await assertion({ claims: { jti: 'another-jti' } })
    const [h, p] = other.split('.')
    const res = await post(`${h}.${p}.${good.split('.')[2]}`)
    expect(res.status).toBe(401)
    expect(res.body.detail).toContain('bad signature')
  })

  it('refuses an ES256 signature presented as SM2 under the SM2 key, and an ES256 header under the SM2 kid', async () => {
    const good = await assertion()
    const [h, p] = good.split('.')
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const es256sig = sign('sha256', Buffer.from(`${h}.${p}`), { key: p256, dsaEncoding: 'ieee-p1363' })
    const asSm2 = await post(`${h}.${p}.${es256sig.toString('base64url')}`)
    expect(asSm2.status).toBe(401)
    expect(asSm2.body.detail).toContain('bad signature')
    const esKey = await newClientKey('ES256')
    const underSm2Kid = await post(await assertion({ header: { kid: sm2.key.kid } }, esKey))
    expect(underSm2Kid.status).toBe(401)
    expect(underSm2Kid.body.detail).toContain('unknown key')
  })

  it('refuses a client whose registered SM2 key is not a point of the curve', async () => {
    const key = await newClientKey('SM2')
    const y = Buffer.from(String(key.publicJwk.y), 'base64url')
    y[31] = y[31]! ^ 1
    const offCurve = { ...key.publicJwk, y: y.toString('base64url') }
    const reg = await t.admin('POST', '/v1/admin/clients', {
      id: 'shiyan-off-curve',
      regions: ['420300'],
      jwks: { keys: [offCurve] },
    })
    expect(reg.status, JSON.stringify(reg.body)).toBe(201)
    const token = await signAssertion({
      clientId: 'shiyan-off-curve',
      key,
      audience: t.gatewayId,
      method: 'POST',
      pathAndQuery: '/v1/cases',
      body: text,
      now: t.clock.now(),
    })
    const res = await post(token)
    expect(res.status).toBe(401)
    expect(res.body.detail).toContain('unknown key')
  })

  it('refuses a second use of an SM2 assertion', async () => {
    const token = await signAssertion({
      clientId: sm2.id,
      key: sm2.key,
      audience: t.gatewayId,
      method: 'GET',
      pathAndQuery: '/v1/cases',
      now: t.clock.now(),
    })
    const first = await t.call('GET', '/v1/cases', undefined, { authorization: `Bearer ${token}` })
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    const second = await t.call('GET', '/v1/cases', undefined, { authorization: `Bearer ${token}` })
    expect(second.status).toBe(401)
    expect(second.body.detail).toContain('jti')
  })
})
