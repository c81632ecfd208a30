/**
 * Revocations reach every instance at once: two gateway instances over one database, both caching client
 * records and token look-ups for ten minutes. A token or a client revoked through the first is refused by
 * the second as soon as PostgreSQL's notice reached it, long before its cache would have expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import { createRuntime, type Runtime } from '../../src/main.js'
import { personTokenId } from '../../src/security/tokens.js'
import type { RevocationNotice } from '../../src/store/revocation-listener.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { signAssertion } from '../helpers/client-assertion.js'
import { waitFor } from '../helpers/wait.js'

const TEN_MINUTES = 600_000
let t: TestApp
let second: Runtime
let app2: ReturnType<typeof createApp>
const heard: RevocationNotice[] = []

beforeAll(async () => {
  t = await createTestApp({ runtime: { authCacheMs: TEN_MINUTES } })
  second = await createRuntime(t.config, createLogger('silent'), {
    clock: t.clock,
    workers: false,
    authCacheMs: TEN_MINUTES,
    onRevocationNotice: (n) => heard.push(n),
  })
  app2 = createApp(second.deps)
}, 60_000)
afterAll(async () => {
  await second?.close()
  await t?.close()
})

const heardOf = (table: RevocationNotice['table'], id: string) =>
  waitFor(`the notice of ${table} ${id} at the second instance`, async () =>
    heard.some((n) => n.table === table && n.id === id),
  )

/** `GET /v1/cases` at the second instance as `client`, with a fresh assertion. */
async function listAtSecond(client: TestClient) {
  const assertion = await signAssertion({
    clientId: client.id,
    key: client.key,
    audience: t.gatewayId,
    method: 'GET',
    pathAndQuery: '/v1/cases',
    now: t.clock.now(),
  })
  return app2.request('/v1/cases', { headers: { authorization: `Bearer ${assertion}` } })
}

describe('revocations announced to every instance', () => {
  it('a revoked token is refused by the second instance once the notice arrived, its cache notwithstanding', async () => {
    const { token } = await t.operator('420303', 'ZW-REV-01')
    const id = personTokenId(token) as string
    const read = () => app2.request('/v1/cases', { headers: { authorization: `Bearer ${token}` } })
    // The second instance has looked the token up: it is in its cache for ten minutes.
    expect((await read()).status).toBe(200)
    expect((await t.security('DELETE', `/v1/admin/tokens/${id}`)).status).toBe(200)
    await heardOf('person_tokens', id)
    const refused = await read()
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as { code: string }).code).toBe('unauthenticated')
  })

  it('a revoked client is refused by the second instance once the notice arrived', async () => {
    const client = await t.client('rev-client', ['420300'])
    const read = () => listAtSecond(client)
    expect((await read()).status).toBe(200)
    expect((await t.admin('DELETE', `/v1/admin/clients/${client.id}`)).status).toBe(200)
    await heardOf('clients', client.id)
    expect((await read()).status).toBe(401)
  })

  it('a client key revoked as compromised is refused by the second instance once the notice arrived', async () => {
    const client = await t.client('rev-key-client', ['420300'])
    const read = () => listAtSecond(client)
    expect((await read()).status).toBe(200)
    const revoked = await t.security('POST', '/v1/admin/key-revocations', {
      issuer: client.id,
      kid: client.key.kid,
      revokedAt: new Date(t.clock.now().getTime() - 60_000).toISOString(),
    })
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201)
    await heardOf('key_revocations', client.id)
    expect((await read()).status).toBe(401)
  })
})
