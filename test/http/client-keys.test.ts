/**
 * Replacing a client's inline JWKS (`PUT /v1/admin/clients/{id}/jwks`, `tongban clients keys`): a rotation
 * publishes the new key beside the old one, both sign accepted assertions, then the old one is dropped and
 * its assertions are refused at once on this instance.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { type ClientKey, newClientKey, signAssertion } from '../helpers/client-assertion.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let dir: string

beforeAll(async () => {
  t = await createTestApp()
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-client-keys-'))
})
afterAll(async () => {
  await t?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** A signed `GET /v1/cases` by `client` with `key` (which need not be the key it registered with). */
async function listWith(client: TestClient, key: ClientKey) {
  const assertion = await signAssertion({
    clientId: client.id,
    key,
    audience: t.gatewayId,
    method: 'GET',
    pathAndQuery: '/v1/cases',
    now: t.clock.now(),
  })
  return t.call('GET', '/v1/cases', undefined, { authorization: `Bearer ${assertion}` })
}

describe('PUT /v1/admin/clients/{id}/jwks', () => {
  it('publishes a new key beside the old one, then drops the old one', async () => {
    const system = await t.client('zw-rotate', ['420303'])
    const old = system.key
    const fresh = await newClientKey('EdDSA')
    expect((await listWith(system, old)).status).toBe(200)
    expect((await listWith(system, fresh)).status).toBe(401)

    const both = await t.security('PUT', '/v1/admin/clients/zw-rotate/jwks', { jwks: fresh.jwks, keep: true })
    expect(both.status, JSON.stringify(both.body)).toBe(200)
    expect(both.body.kept).toEqual([old.kid])
    expect(both.body.dropped).toEqual([])
    expect(both.body.client.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([old.kid, fresh.kid])
    // While both are registered, each signs accepted assertions.
    expect((await listWith(system, old)).status).toBe(200)
    expect((await listWith(system, fresh)).status).toBe(200)
    const stored = await t.admin('GET', '/v1/admin/clients/zw-rotate')
    expect(stored.body.jwks.keys).toHaveLength(2)

    // The client publishes its whole new set again (old and new): stored once each, nothing changes.
    const again = await t.security('PUT', '/v1/admin/clients/zw-rotate/jwks', {
      jwks: { keys: [old.publicJwk, fresh.publicJwk] },
      keep: true,
    })
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect(again.body.client.jwks.keys).toHaveLength(2)

    const dropped = await t.security('PUT', '/v1/admin/clients/zw-rotate/jwks', { jwks: fresh.jwks, keep: false })
    expect(dropped.status, JSON.stringify(dropped.body)).toBe(200)
    expect(dropped.body.dropped).toEqual([old.kid])
    expect(dropped.body.client.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([fresh.kid])
    const refused = await listWith(system, old)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('content-type')).toContain('application/problem+json')
    expect((await listWith(system, fresh)).status).toBe(200)
  })

  it('keeps the registered keys that a list names, and only those', async () => {
    const system = await t.client('zw-keep-list', ['420303'])
    const second = await newClientKey()
    const third = await newClientKey()
    expect(
      (await t.security('PUT', '/v1/admin/clients/zw-keep-list/jwks', { jwks: second.jwks, keep: true })).status,
    ).toBe(200)
    const res = await t.security('PUT', '/v1/admin/clients/zw-keep-list/jwks', { jwks: third.jwks, keep: [second.kid] })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.kept).toEqual([second.kid])
    expect(res.body.dropped).toEqual([system.key.kid])
    expect((await listWith(system, system.key)).status).toBe(401)
    expect((await listWith(system, second)).status).toBe(200)
    expect((await listWith(system, third)).status).toBe(200)
  })

  it('refuses what would be wrong, and changes nothing then', async () => {
    const system = await t.client('zw-keys-bad', ['420303'])
    const other = await newClientKey()
    const withPrivate = { keys: [{ ...other.publicJwk, d: 'secret-part' }] }
    const sameKidOtherKey = { keys: [{ ...other.publicJwk, kid: system.key.kid }] }
    const many = { keys: await Promise.all(Array.from({ length: 10 }, async () => (await newClientKey()).publicJwk)) }
    const cases: [string, unknown, number, string][] = [
      ['zw-keys-bad', { jwks: other.jwks }, 400, 'keep'],
      ['zw-keys-bad', { jwks: other.jwks, keep: 'yes' }, 400, 'keep'],
      ['zw-keys-bad', { jwks: { keys: [] }, keep: true }, 400, 'jwks'],
      ['zw-keys-bad', { jwks: withPrivate, keep: true }, 400, 'private'],
      ['zw-keys-bad', { jwks: other.jwks, keep: true, extra: 1 }, 400, 'extra'],
      ['zw-keys-bad', { jwks: other.jwks, keep: ['no-such-kid'] }, 422, 'no-such-kid'],
      ['zw-keys-bad', { jwks: sameKidOtherKey, keep: true }, 422, 'two different keys'],
      ['zw-keys-bad', { jwks: many, keep: true }, 422, 'at most 10'],
      ['no-such-client', { jwks: other.jwks, keep: true }, 404, 'no-such-client'],
    ]
    for (const [id, body, status, text] of cases) {
      const res = await t.security('PUT', `/v1/admin/clients/${id}/jwks`, body)
      expect(res.status, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(res.body)}`).toBe(status)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      expect(JSON.stringify(res.body)).toContain(text)
      expect(JSON.stringify(res.body)).not.toContain('secret-part')
    }
    const stored = await t.admin('GET', '/v1/admin/clients/zw-keys-bad')
    expect(stored.body.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([system.key.kid])
    expect((await listWith(system, system.key)).status).toBe(200)
  })

  it('refuses a client whose keys are at a JWKS URL, and a revoked client (409)', async () => {
    const key = await newClientKey()
    await t.client('zw-keys-revoked', ['420303'])
    expect((await t.admin('DELETE', '/v1/admin/clients/zw-keys-revoked')).status).toBe(200)
    const revoked = await t.security('PUT', '/v1/admin/clients/zw-keys-revoked/jwks', { jwks: key.jwks, keep: true })
    expect(revoked.status).toBe(409)
    expect(revoked.body.detail).toContain('revoked')
    await t.runtime.deps.admin.clients.add({
      id: 'zw-keys-url',
      regions: ['420303'],
      jwksUrl: 'https://keys.example.gov.cn/jwks.json',
    })
    const atUrl = await t.security('PUT', '/v1/admin/clients/zw-keys-url/jwks', { jwks: key.jwks, keep: false })
    expect(atUrl.status).toBe(409)
    expect(atUrl.body.detail).toContain('JWKS URL')
    expect((await t.admin('GET', '/v1/admin/clients/zw-keys-url')).body.jwks).toBeNull()
  })

  it('is for admins only', async () => {
    const system = await t.client('zw-keys-self', ['420303'])
    const key = await newClientKey()
    const self = await system.call('PUT', '/v1/admin/clients/zw-keys-self/jwks', { jwks: key.jwks, keep: true })
    expect(self.status).toBe(403)
    const operator = await t.operator('420303', 'ZW-KEYS')
    const op = await operator.call('PUT', '/v1/admin/clients/zw-keys-self/jwks', { jwks: key.jwks, keep: true })
    expect(op.status).toBe(403)
    expect((await t.admin('GET', '/v1/admin/clients/zw-keys-self')).body.jwks.keys).toHaveLength(1)
  })

  it('is in the OpenAPI document', async () => {
    const doc = (await t.call('GET', '/openapi.json')).body
    const op = doc.paths['/v1/admin/clients/{id}/jwks'].put
    expect(op.security).toEqual([{ bearer: [] }, { session: [] }])
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '404', '409', '422']))
    expect(doc.components.schemas.ReplaceClientKeys).toBeDefined()
  })
})

describe('tongban clients keys', () => {
  it('adds a key beside the old ones by default, and drops the old ones with --drop-old', async () => {
    const env = t.cliEnv
    const system = await t.client('zw-keys-cli', ['420303'])
    const fresh = await newClientKey()
    const file = path.join(dir, 'new.jwks.json')
    await writeFile(file, JSON.stringify(fresh.jwks))

    const added = await runCli(['clients', 'keys', 'zw-keys-cli', '--jwks', file], env)
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toContain('now has 2 key(s)')
    expect(added.stdout).toContain(`kept: ${system.key.kid}; dropped: (none)`)
    // The CLI is another process: this instance sees the change when its 5 s record cache expires (done here
    // at once, as the expiry would).
    t.runtime.deps.admin.onClientChanged?.('zw-keys-cli')
    expect((await listWith(system, system.key)).status).toBe(200)
    expect((await listWith(system, fresh)).status).toBe(200)

    const dropped = await runCli(['clients', 'keys', 'zw-keys-cli', '--jwks', file, '--drop-old'], env)
    expect(dropped.code, dropped.stderr).toBe(0)
    expect(dropped.stdout).toContain(`dropped: ${system.key.kid}`)
    const stored = await t.admin('GET', '/v1/admin/clients/zw-keys-cli')
    expect(stored.body.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([fresh.kid])

    const unknown = await runCli(['clients', 'keys', 'zw-keys-cli', '--jwks', file, '--keep', 'nope'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no key nope')
    const usage = await runCli(['clients', 'keys', 'zw-keys-cli'], env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('usage: tongban clients keys')
    // Four CLI processes: slow on a loaded machine.
  }, 120_000)
})
