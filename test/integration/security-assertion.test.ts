/**
 * verifyClientAssertion with real crypto and the real Redis replay guard; the client registry is an
 * in-memory ClientKeys built from the test clients' JWKS.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import type { ClientStore, SystemClient } from '../../src/ports/callers.js'
import { bodyHash, type ClientKeys, verifyClientAssertion } from '../../src/security/assertion.js'
import { clientKeysFrom } from '../../src/security/client-keys.js'
import { keySetLookup, resolverOf } from '../../src/security/jwk-set.js'
import { JwksFetcher } from '../../src/security/jwks-fetch.js'
import { RedisReplayGuard } from '../../src/security/replay.js'
import {
  type AssertionOptions,
  type ClientKey,
  forgeAlgNone,
  forgeHs256WithPublicKey,
  newClientKey,
  signAssertion,
} from '../helpers/client-assertion.js'

const GATEWAY = 'gw-420300'
const prefix = `test-security-${randomBytes(6).toString('hex')}`
let redis: Redis
let replay: RedisReplayGuard
let es: ClientKey
let ed: ClientKey
let other: ClientKey
let clients: ClientKeys

interface TestClient {
  regions: string[]
  status: 'active' | 'revoked'
  jwks: { keys: object[] }
}

function memoryClientKeys(registry: Record<string, TestClient>): ClientKeys {
  return {
    async client(id) {
      const c = registry[id]
      if (!c) return null
      return { id, regions: c.regions, status: c.status, keys: resolverOf(keySetLookup(c.jwks)) }
    },
  }
}

beforeAll(async () => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  replay = new RedisReplayGuard(redis, prefix)
  ;[es, ed, other] = await Promise.all([newClientKey('ES256'), newClientKey('EdDSA'), newClientKey('ES256')])
  clients = memoryClientKeys({
    'city-wuhan': { regions: ['420100'], status: 'active', jwks: es.jwks },
    'city-yichang': { regions: ['420500'], status: 'active', jwks: ed.jwks },
    'city-gone': { regions: ['420600'], status: 'revoked', jwks: other.jwks },
  })
})

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

const body = JSON.stringify({ externalRef: 'ZW-2026-000123', item: '11420300MB1234567X' })

function base(overrides: Partial<AssertionOptions> = {}): AssertionOptions {
  return {
    clientId: 'city-wuhan',
    key: es,
    audience: GATEWAY,
    method: 'POST',
    pathAndQuery: '/v1/cases?dry=1',
    body,
    ...overrides,
  }
}

interface RequestShape {
  method?: string
  pathAndQuery?: string
  body?: string | null
  now?: Date
}

function verify(token: string, req: RequestShape = {}) {
  const b = req.body === undefined ? body : req.body
  return verifyClientAssertion({
    token,
    method: req.method ?? 'POST',
    pathAndQuery: req.pathAndQuery ?? '/v1/cases?dry=1',
    body: b === null ? null : new TextEncoder().encode(b),
    audience: GATEWAY,
    now: req.now ?? new Date(),
    clients,
    replay,
  })
}

async function refusal(token: string, req?: RequestShape): Promise<string> {
  const error = await verify(token, req).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error, 'expected a refusal').toBeInstanceOf(AppError)
  expect((error as AppError).code).toBe('unauthenticated')
  expect((error as AppError).message).not.toContain(token)
  return (error as AppError).message
}

describe('verifyClientAssertion', () => {
  it('accepts a well-formed assertion and returns the caller with the assertion as evidence', async () => {
    const token = await signAssertion(base({ jti: 'happy-1' }))
    const caller = await verify(token)
    expect(caller).toEqual({
      kind: 'client',
      id: 'city-wuhan',
      regions: ['420100'],
      assertion: {
        token,
        jti: 'happy-1',
        kid: es.kid,
        alg: 'ES256',
        bodyHash: bodyHash(new TextEncoder().encode(body)),
      },
    })
  })

  it('accepts an EdDSA client', async () => {
    const caller = await verify(await signAssertion(base({ clientId: 'city-yichang', key: ed })))
    expect(caller.id).toBe('city-yichang')
  })

  it('accepts a bodiless GET (no bsh), and a bsh of the empty body', async () => {
    const get = { method: 'GET', pathAndQuery: '/v1/cases?limit=5', body: null }
    const plain = await signAssertion(base({ method: 'GET', pathAndQuery: '/v1/cases?limit=5', body: undefined }))
    expect((await verify(plain, get)).assertion.bodyHash).toBeNull()
    const withEmpty = await signAssertion(
      base({
        method: 'GET',
        pathAndQuery: '/v1/cases?limit=5',
        body: undefined,
        overrides: { claims: { bsh: bodyHash(new Uint8Array()) } },
      }),
    )
    expect((await verify(withEmpty, get)).id).toBe('city-wuhan')
    const wrongEmpty = await signAssertion(
      base({ method: 'GET', pathAndQuery: '/v1/cases?limit=5', body: undefined, overrides: { claims: { bsh: 'x' } } }),
    )
    expect(await refusal(wrongEmpty, get)).toBe('bsh mismatch')
  })

  it('accepts an assertion expired by less than the 60 s leeway, and an iat slightly ahead', async () => {
    const now = new Date()
    const expiredRecently = await signAssertion(base({ now: new Date(now.getTime() - 90_000), ttlSeconds: 60 }))
    expect((await verify(expiredRecently, { now })).id).toBe('city-wuhan')
    const ahead = await signAssertion(base({ now: new Date(now.getTime() + 50_000) }))
    expect((await verify(ahead, { now })).id).toBe('city-wuhan')
  })

  it('refuses a replayed jti, having accepted its first use', async () => {
    const token = await signAssertion(base({ jti: 'once-only' }))
    expect((await verify(token)).assertion.jti).toBe('once-only')
    expect(await refusal(token)).toBe('jti already used')
    // The same jti from another client is that client's own.
    expect((await verify(await signAssertion(base({ clientId: 'city-yichang', key: ed, jti: 'once-only' })))).id).toBe(
      'city-yichang',
    )
    const ttl = await redis.pttl(`${prefix}:jti:city-wuhan:once-only`)
    expect(ttl).toBeGreaterThan(100_000)
    expect(ttl).toBeLessThanOrEqual(120_000)
  })

  it('does not burn a jti for an assertion that fails its signature', async () => {
    const genuine = await signAssertion(base({ jti: 'not-burnt' }))
    const [h, p] = genuine.split('.')
    const forged = `${h}.${p}.${(await signAssertion(base({ key: other, jti: 'not-burnt' }))).split('.')[2]}`
    expect(await refusal(forged)).toBe('bad signature')
    expect((await verify(genuine)).assertion.jti).toBe('not-burnt')
  })

  const now = new Date()
  const cases: Array<[string, () => Promise<string>, string, RequestShape?]> = [
    ['malformed', async () => 'not-a-jws', 'malformed assertion'],
    [
      'malformed header JSON',
      async () => `${Buffer.from('{"alg":').toString('base64url')}.e30.sig`,
      'malformed assertion',
    ],
    ['alg none', () => forgeAlgNone(base()), 'unsupported alg'],
    ['HS256 with the public key (PEM)', () => forgeHs256WithPublicKey(base()), 'unsupported alg'],
    [
      'HS256 with the public key (JWK)',
      () => forgeHs256WithPublicKey({ ...base(), secretForm: 'jwk' }),
      'unsupported alg',
    ],
    ['wrong typ', () => signAssertion(base({ overrides: { header: { typ: 'JWT' } } })), 'wrong typ'],
    ['missing kid', () => signAssertion(base({ overrides: { header: { kid: undefined } } })), 'missing kid'],
    ['iss ≠ sub', () => signAssertion(base({ overrides: { claims: { sub: 'city-yichang' } } })), 'iss must equal sub'],
    ['unknown client', () => signAssertion(base({ clientId: 'city-nowhere' })), 'unknown client'],
    ['revoked client', () => signAssertion(base({ clientId: 'city-gone', key: other })), 'client revoked'],
    ['unknown kid', () => signAssertion(base({ key: { ...other, kid: 'no-such-kid' } })), 'unknown key'],
    ['another client’s key', () => signAssertion(base({ key: ed })), 'unknown key'],
    ['wrong aud', () => signAssertion(base({ audience: 'gw-110000' })), 'wrong aud'],
    [
      'aud array without us',
      () => signAssertion(base({ overrides: { claims: { aud: ['gw-1', 'gw-2'] } } })),
      'wrong aud',
    ],
    [
      'expired beyond leeway',
      () => signAssertion(base({ now: new Date(now.getTime() - 130_000), ttlSeconds: 60 })),
      'assertion expired',
      { now },
    ],
    ['lifetime over 300 s', () => signAssertion(base({ ttlSeconds: 301 })), 'lifetime over 300 s'],
    [
      'iat in the future beyond leeway',
      () => signAssertion(base({ now: new Date(now.getTime() + 61_000) })),
      'iat in the future',
      { now },
    ],
    [
      'iat not a number',
      () => signAssertion(base({ overrides: { claims: { iat: String(Math.floor(Date.now() / 1000)) } } })),
      'missing iat',
    ],
    ['empty jti', () => signAssertion(base({ jti: '' })), 'bad jti'],
    ['jti over 128 chars', () => signAssertion(base({ jti: 'j'.repeat(129) })), 'bad jti'],
    ['wrong htm', () => signAssertion(base({ method: 'PUT' })), 'htm mismatch'],
    ['htm in lower case', () => signAssertion(base({ method: 'post' })), 'htm mismatch'],
    ['htm in mixed case', () => signAssertion(base({ method: 'Post' })), 'htm mismatch'],
    ['wrong htu path', () => signAssertion(base({ pathAndQuery: '/v1/cases/other?dry=1' })), 'htu mismatch'],
    ['wrong htu query', () => signAssertion(base({ pathAndQuery: '/v1/cases?dry=0' })), 'htu mismatch'],
    ['htu without the query', () => signAssertion(base({ pathAndQuery: '/v1/cases' })), 'htu mismatch'],
    [
      'body changed after signing',
      () => signAssertion(base()),
      'bsh mismatch',
      { body: body.replace('000123', '000124') },
    ],
    [
      'missing bsh with a body',
      () => signAssertion(base({ overrides: { claims: { bsh: undefined } } })),
      'missing bsh',
    ],
  ]

  it.each(cases)('refuses %s', async (_name, make, expected, req) => {
    expect(await refusal(await make(), req)).toBe(expected)
  })

  it('refuses alg none and HS256 before any key lookup', async () => {
    let lookups = 0
    const counting: ClientKeys = {
      async client(id) {
        lookups++
        return clients.client(id)
      },
    }
    for (const token of [await forgeAlgNone(base()), await forgeHs256WithPublicKey(base())]) {
      const e = await verifyClientAssertion({
        token,
        method: 'POST',
        pathAndQuery: '/v1/cases?dry=1',
        body: new TextEncoder().encode(body),
        audience: GATEWAY,
        now: new Date(),
        clients: counting,
        replay,
      }).catch((x: AppError) => x)
      expect((e as AppError).message).toBe('unsupported alg')
    }
    expect(lookups).toBe(0)
  })

  it('refuses an HS256 token even when the registry would hand out a symmetric key', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(es.publicJwk))
    const lenient: ClientKeys = {
      async client(id) {
        return { id, regions: ['420100'], status: 'active', keys: async () => [secret as never] }
      },
    }
    const token = await forgeHs256WithPublicKey({ ...base(), secretForm: 'jwk' })
    const e = await verifyClientAssertion({
      token,
      method: 'POST',
      pathAndQuery: '/v1/cases?dry=1',
      body: new TextEncoder().encode(body),
      audience: GATEWAY,
      now: new Date(),
      clients: lenient,
      replay,
    }).catch((x: AppError) => x)
    expect((e as AppError).message).toBe('unsupported alg')
  })
})

describe('clientKeysFrom', () => {
  function store(rows: SystemClient[]): ClientStore {
    return {
      add: async () => {
        throw new Error('unused')
      },
      get: async (id) => rows.find((r) => r.id === id) ?? null,
      list: async () => rows,
      setKeys: async () => {
        throw new Error('unused')
      },
      revoke: async () => {
        throw new Error('unused')
      },
    }
  }
  const row = (over: Partial<SystemClient>): SystemClient => ({
    id: 'city-wuhan',
    name: null,
    regions: ['420100'],
    jwks: null,
    jwksUrl: null,
    status: 'active',
    createdAt: new Date(),
    revokedAt: null,
    ...over,
  })

  it('verifies with inline keys, follows a key change once told (invalidate), and honours revocation', async () => {
    const rows = [row({ jwks: es.jwks })]
    const fromStore = clientKeysFrom(store(rows), new JwksFetcher({ allowHosts: [] }))
    const run = (token: string) =>
      verifyClientAssertion({
        token,
        method: 'POST',
        pathAndQuery: '/v1/cases?dry=1',
        body: new TextEncoder().encode(body),
        audience: GATEWAY,
        now: new Date(),
        clients: fromStore,
        replay,
      })
    expect((await run(await signAssertion(base()))).id).toBe('city-wuhan')
    rows[0] = row({ jwks: ed.jwks })
    fromStore.invalidate('city-wuhan')
    await expect(run(await signAssertion(base()))).rejects.toThrow('unknown key')
    expect((await run(await signAssertion(base({ key: ed })))).id).toBe('city-wuhan')
    rows[0] = row({ jwks: ed.jwks, status: 'revoked' })
    fromStore.invalidate('city-wuhan')
    await expect(run(await signAssertion(base({ key: ed })))).rejects.toThrow('client revoked')
    rows[0] = row({ jwksUrl: 'https://evil.example/jwks.json' })
    fromStore.invalidate('city-wuhan')
    await expect(run(await signAssertion(base()))).rejects.toThrow('JWKS host not allowed')
    rows[0] = row({})
    fromStore.invalidate('city-wuhan')
    await expect(run(await signAssertion(base()))).rejects.toThrow('unknown key')
  })

  it('reuses a client record for 5 s without invalidation, then asks the store again', async () => {
    const rows = [row({ jwks: es.jwks })]
    let t = Date.now()
    const fromStore = clientKeysFrom(store(rows), new JwksFetcher({ allowHosts: [] }), () => t)
    const run = async () =>
      verifyClientAssertion({
        token: await signAssertion(base()),
        method: 'POST',
        pathAndQuery: '/v1/cases?dry=1',
        body: new TextEncoder().encode(body),
        audience: GATEWAY,
        now: new Date(),
        clients: fromStore,
        replay,
      })
    expect((await run()).id).toBe('city-wuhan')
    rows[0] = row({ jwks: es.jwks, status: 'revoked' })
    expect((await run()).id).toBe('city-wuhan')
    t += 5_001
    await expect(run()).rejects.toThrow('client revoked')
  })
})

describe('RedisReplayGuard', () => {
  it('claims once per (client, jti), expiring 60 s after the assertion', async () => {
    const expiresAt = new Date(Date.now() + 30_000)
    expect(await replay.claim('a:b', 'c', expiresAt)).toBe(true)
    expect(await replay.claim('a:b', 'c', expiresAt)).toBe(false)
    expect(await replay.claim('a', 'b:c', expiresAt)).toBe(true)
    const ttl = await redis.pttl(`${prefix}:jti:a%3Ab:c`)
    expect(ttl).toBeGreaterThan(85_000)
    expect(ttl).toBeLessThanOrEqual(90_000)
  })

  it('turns a Redis outage into a retryable not_ready', async () => {
    const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false })
    const e = await new RedisReplayGuard(down, prefix).claim('x', 'y', new Date(Date.now() + 1000)).catch((x) => x)
    expect(e).toBeInstanceOf(AppError)
    expect((e as AppError).code).toBe('not_ready')
    expect((e as AppError).retryable).toBe(true)
    down.disconnect()
  })
})
