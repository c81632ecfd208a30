/**
 * Rate limits (PROTOCOL 1.1 §6) on the real runtime and the local Redis: the N+1st request of a window is
 * refused with 429 `rate_limited` and Retry-After, instances on the same Redis share the counts, failed
 * sign-ins lock the sign-in for a doubling while, refusals are counted in /metrics, and a Redis that cannot be
 * reached leaves the limits to each process instead of failing requests.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import { createRuntime } from '../../src/main.js'
import { RedisRateLimits } from '../../src/security/rate-limits.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { signAssertion } from '../helpers/client-assertion.js'
import { csrfOf } from '../helpers/console.js'
import { testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp({
    env: {
      RATE_LIMIT_CLIENT: '5/60',
      RATE_LIMIT_PERSON: '4/60',
      RATE_LIMIT_VERIFY: '3/60',
      RATE_LIMIT_SIGNIN: '6/60',
      SIGNIN_LOCK_AFTER: '2',
      SIGNIN_LOCK_SECONDS: '90',
      TRUST_PROXY: '1',
    },
  })
})

afterAll(async () => {
  await t?.close()
})

/** A request as @hono/node-server hands it over: with the socket it came through. */
function fromAddress(address: string, path: string, init: RequestInit = {}) {
  return t.app.request(path, init, { incoming: { socket: { remoteAddress: address } } })
}

const verify = (address: string, init: RequestInit = {}) =>
  fromAddress(address, '/v1/results/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify({ result: 'not a signed result' }),
  })

async function expectRefused(res: Response, limit: string, windowSeconds: number) {
  const body = (await res.json()) as Record<string, unknown>
  expect(res.status, JSON.stringify(body)).toBe(429)
  expect(res.headers.get('content-type')).toContain('application/problem+json')
  expect(body.code).toBe('rate_limited')
  expect(String(body.detail)).toContain(limit)
  const retryAfter = Number(res.headers.get('retry-after'))
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds)
  expect(body.retryAfterSeconds).toBe(retryAfter)
}

async function scrape(): Promise<string> {
  const res = await t.app.request('/metrics')
  expect(res.status).toBe(200)
  return res.text()
}

describe('POST /v1/results/verify, per source address', () => {
  it('answers the first 3 requests of the window and refuses the 4th with 429 and Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await verify('192.0.2.10')).status).not.toBe(429)
    await expectRefused(await verify('192.0.2.10'), 'verify', 60)
    // Another address has its own count.
    expect((await verify('192.0.2.11')).status).not.toBe(429)
    expect(await scrape()).toContain('tongban_rate_limited_total{limit="verify"} 1')
  })

  it('with TRUST_PROXY=1 counts the address the proxy saw, not what the client wrote to the left of it', async () => {
    const behindProxy = (claimed: string) =>
      verify('10.0.0.1', { headers: { 'x-forwarded-for': `${claimed}, 198.51.100.7` } })
    for (let i = 0; i < 3; i++) expect((await behindProxy(`203.0.113.${i}`)).status).not.toBe(429)
    await expectRefused(await behindProxy('203.0.113.99'), 'verify', 60)
    // The proxy's own address is not what is limited.
    expect((await verify('10.0.0.1', { headers: { 'x-forwarded-for': '198.51.100.8' } })).status).not.toBe(429)
  })
})

describe('authenticated callers', () => {
  it('limits a system client by its id (RATE_LIMIT_CLIENT=5/60); another client keeps its own count', async () => {
    const a = await t.client('limited-a', ['420300'])
    const b = await t.client('limited-b', ['420300'])
    for (let i = 0; i < 5; i++) {
      const res = await a.call('GET', '/v1/regions')
      expect(res.status, JSON.stringify(res.body)).toBe(200)
    }
    const refused = await a.call('GET', '/v1/regions')
    expect(refused.status, JSON.stringify(refused.body)).toBe(429)
    expect(refused.body.code).toBe('rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await b.call('GET', '/v1/regions')).status).toBe(200)
    expect(await scrape()).toContain('tongban_rate_limited_total{limit="client"} 1')
  })

  it('limits a person by their token (RATE_LIMIT_PERSON=4/60)', async () => {
    const operator = await t.operator('420303', 'RL-01')
    for (let i = 0; i < 4; i++) expect((await operator.call('GET', '/v1/regions')).status).toBe(200)
    const refused = await operator.call('GET', '/v1/regions')
    expect(refused.status, JSON.stringify(refused.body)).toBe(429)
    expect(refused.body.code).toBe('rate_limited')
    // The admin's token is another person.
    expect((await t.admin('GET', '/v1/regions')).status).toBe(200)
  })

  it('shares the counts with another instance on the same Redis', async () => {
    // A second gateway instance: its own runtime (own Redis connection), the same configuration.
    const second = await createRuntime(t.config, createLogger('silent'), { clock: t.clock, workers: false })
    try {
      const other = createApp(second.deps)
      const client = await t.client('limited-shared', ['420300'])
      // The client's assertions are just as valid at the second instance (same gateway id, same database).
      const sign = () =>
        signAssertion({
          clientId: client.id,
          key: client.key,
          audience: t.gatewayId,
          method: 'GET',
          pathAndQuery: '/v1/regions',
          now: t.clock.now(),
        })
      for (let i = 0; i < 3; i++) expect((await client.call('GET', '/v1/regions')).status).toBe(200)
      for (let i = 0; i < 2; i++) {
        const res = await other.request('/v1/regions', { headers: { authorization: `Bearer ${await sign()}` } })
        expect(res.status, await res.text()).toBe(200)
      }
      const sixth = await other.request('/v1/regions', { headers: { authorization: `Bearer ${await sign()}` } })
      expect(sixth.status).toBe(429)
      expect((await client.call('GET', '/v1/regions')).status).toBe(429)
    } finally {
      await second.close()
    }
  })
})

describe('the console sign-in', () => {
  /** The sign-in form from one address: fetches the form (its CSRF cookie) and posts the token. */
  async function signIn(address: string, token: string) {
    const form = await fromAddress(address, '/console/login')
    const cookie = form.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    return fromAddress(address, '/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrfOf(await form.text()), token }).toString(),
    })
  }

  it('locks the sign-in after 2 failures in a row, for the address and for the token id, with a Chinese page', async () => {
    const operator = await t.operator('420303', 'RL-02')
    const wrong = `${operator.token.slice(0, 17)}${'x'.repeat(43)}`
    const first = await signIn('192.0.2.20', wrong)
    expect(first.status).toBe(401)
    expect(await first.text()).not.toContain('连续失败次数过多')
    const second = await signIn('192.0.2.20', wrong)
    expect(second.status).toBe(401)
    expect(await second.text()).toContain('连续失败次数过多，请在 90 秒后再试。')

    // Locked: even the right token is not tried, from this address …
    const locked = await signIn('192.0.2.20', operator.token)
    expect(locked.status).toBe(429)
    expect(locked.headers.get('content-type')).toContain('text/html')
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(80)
    expect(await locked.text()).toContain('登录尝试过于频繁，请在')
    // … nor for this token from elsewhere; another token from elsewhere signs in.
    expect((await signIn('192.0.2.21', operator.token)).status).toBe(429)
    expect((await signIn('192.0.2.22', t.adminToken)).status).toBe(303)
    expect(await scrape()).toContain('tongban_rate_limited_total{limit="signin_lockout"} 2')
  })

  it('refuses more than RATE_LIMIT_SIGNIN attempts per address, failed or not', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn('192.0.2.30', t.adminToken)).status).toBe(303)
    // Each signIn() above was two requests (the form, then the post): only the posts count.
    for (let i = 0; i < 3; i++) expect((await signIn('192.0.2.30', t.adminToken)).status).toBe(303)
    const refused = await signIn('192.0.2.30', t.adminToken)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await refused.text()).toContain('登录尝试过于频繁')
  })
})

describe('without Redis', () => {
  it('answers requests as usual and still refuses past the limit, from memory', async () => {
    // Nothing listens on this port (this engineer's range): the limiter's connection never becomes ready.
    const away = new Redis('redis://127.0.0.1:16482', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    })
    const app = createApp({
      ...t.runtime.deps,
      rateLimits: { limits: new RedisRateLimits(away, t.queuePrefix, t.config.limits), trustProxy: 0 },
    })
    const env = { incoming: { socket: { remoteAddress: '192.0.2.60' } } }
    const post = () =>
      app.request(
        '/v1/results/verify',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"result":"x"}' },
        env,
      )
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await post()).status)
    expect(statuses.slice(0, 3).every((s) => s < 429)).toBe(true)
    expect(statuses[3]).toBe(429)
    away.disconnect()
  })
})

describe('the OpenAPI document', () => {
  it('gives every /v1 route the 429 answer with Retry-After', async () => {
    const doc = (await (await t.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>
    }
    const v1 = Object.entries(doc.paths).filter(([p]) => p.startsWith('/v1/'))
    expect(v1.length).toBeGreaterThan(20)
    for (const [p, ops] of v1) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.responses['429']?.headers?.['Retry-After'], `${method} ${p}`).toBeDefined()
      }
    }
    expect(doc.paths['/healthz']?.get?.responses['429']).toBeUndefined()
  })
})

describe('RedisRateLimits', () => {
  const config = loadConfig({ RATE_LIMIT_VERIFY: '2/60', SIGNIN_LOCK_AFTER: '2', SIGNIN_LOCK_SECONDS: '10' }).limits

  it('doubles the lockout with each failure past the threshold, up to the ceiling, and forgets on success', async () => {
    const redis = new Redis(testRedisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    await new Promise((r) => redis.once('ready', r))
    const prefix = testQueuePrefix()
    try {
      const limits = new RedisRateLimits(redis, prefix, {
        ...config,
        signinLock: { ...config.signinLock, maxSeconds: 35 },
      })
      const keys = ['addr:192.0.2.40', 'token:0123456789ab']
      expect(await limits.signIn.failed(keys)).toBe(0)
      expect(await limits.signIn.lockedFor(keys)).toBe(0)
      expect(await limits.signIn.failed(keys)).toBe(10_000)
      expect(await limits.signIn.lockedFor(keys)).toBeGreaterThan(9_000)
      expect(await limits.signIn.failed(keys)).toBe(20_000)
      expect(await limits.signIn.failed(keys)).toBe(35_000)
      await limits.signIn.succeeded(keys)
      expect(await limits.signIn.lockedFor(keys)).toBe(0)
      expect(await limits.signIn.failed(keys)).toBe(0)
    } finally {
      const keys = await redis.keys(`${prefix}:*`)
      if (keys.length) await redis.del(...keys)
      redis.disconnect()
    }
  })

  it('keeps limiting in memory, without errors, while Redis cannot be reached', async () => {
    // Nothing listens on this port (this engineer's range): the connection never becomes ready.
    const redis = new Redis('redis://127.0.0.1:16481', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    })
    let fallbacks = 0
    const limits = new RedisRateLimits(redis, testQueuePrefix(), config, () => {
      fallbacks += 1
    })
    expect(await limits.consume('verify', '192.0.2.50')).toEqual({ allowed: true })
    expect(await limits.consume('verify', '192.0.2.50')).toEqual({ allowed: true })
    const third = await limits.consume('verify', '192.0.2.50')
    expect(third.allowed).toBe(false)
    expect(fallbacks).toBe(3)
    expect(await limits.signIn.failed(['addr:192.0.2.50'])).toBe(0)
    expect(await limits.signIn.failed(['addr:192.0.2.50'])).toBe(10_000)
    expect(await limits.signIn.lockedFor(['addr:192.0.2.50'])).toBeGreaterThan(0)
    redis.disconnect()
  })
})
