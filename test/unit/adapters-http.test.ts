/** HttpClient through a MockAgent: the binding's host list, URL checks, size limits, timeouts, error mapping. */
import { MockAgent } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HttpClient, type HttpClientOptions } from '../../adapters/_shared/http.js'
import { type AppError, isAppError } from '../../src/errors.js'

const signal = () => new AbortController().signal

async function failure(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(isAppError(e), String(e)).toBe(true)
  expect((e as AppError).code).toBe('upstream_failed')
  return e as AppError
}

describe('HttpClient', () => {
  let mock: MockAgent
  const client = (o: Partial<HttpClientOptions> = {}) =>
    new HttpClient({
      allowHosts: ['api.example.cn'],
      dispatcher: mock,
      headersTimeoutMs: 100,
      bodyTimeoutMs: 100,
      ...o,
    })

  beforeEach(() => {
    mock = new MockAgent()
    mock.disableNetConnect()
  })
  afterEach(async () => {
    await mock.close()
  })

  it('returns status, lower-case flattened headers, the body and its JSON', async () => {
    mock
      .get('https://api.example.cn')
      .intercept({ path: '/x?y=1', method: 'POST', body: '{"a":1}' })
      .reply(201, { ok: true }, { headers: { 'X-Thing': 'v', 'set-cookie': ['a=1', 'b=2'] } })
    const res = await client().request({
      method: 'POST',
      url: 'https://api.example.cn/x?y=1',
      body: '{"a":1}',
      signal: signal(),
    })
    expect(res.status).toBe(201)
    expect(res.headers['x-thing']).toBe('v')
    expect(res.headers['set-cookie']).toBe('a=1, b=2')
    expect(res.json()).toEqual({ ok: true })
    expect(res.body.toString()).toBe('{"ok":true}')
  })

  it('json() of a non-JSON body is a non-retryable failure', async () => {
    mock.get('https://api.example.cn').intercept({ path: '/' }).reply(200, '<html>')
    const res = await client().request({ method: 'GET', url: 'https://api.example.cn/', signal: signal() })
    let e: unknown
    try {
      res.json()
    } catch (x) {
      e = x
    }
    expect(e).toMatchObject({ code: 'upstream_failed', retryable: false })
  })

  it('returns a 3xx as is, without following it', async () => {
    const pool = mock.get('https://api.example.cn')
    pool.intercept({ path: '/a' }).reply(301, '', { headers: { location: 'https://api.example.cn/b' } })
    pool.intercept({ path: '/b' }).reply(200, 'followed')
    const res = await client().request({ method: 'GET', url: 'https://api.example.cn/a', signal: signal() })
    expect(res.status).toBe(301)
    expect(res.headers.location).toBe('https://api.example.cn/b')
    expect(mock.pendingInterceptors().map((i) => i.path)).toEqual(['/b'])
  })

  it.each([
    ['https://other.example.cn/', 'host not in the binding'],
    ['https://api.example.cn.evil.example/', 'host not in the binding'],
    ['https://API.example.cn@evil.example/', 'credentials'],
    ['https://evil.example/#@api.example.cn', 'host not in the binding'],
    ['https://user:pw@api.example.cn/', 'credentials'],
    ['ftp://api.example.cn/', 'only http: and https:'],
    ['file:///etc/passwd', 'only http: and https:'],
    ['not a url', 'not a URL'],
  ])('refuses %s non-retryably before any I/O', async (url, why) => {
    const e = await failure(client().request({ method: 'GET', url, signal: signal() }))
    expect(e.retryable).toBe(false)
    expect(e.message).toContain(why)
  })

  it('matches allowHosts case-insensitively, with or without a port', async () => {
    const c = client({ allowHosts: ['API.example.cn', 'b.example.cn:8443', '[2001:db8::1]:443'] })
    expect(c.allows('https://api.example.cn:9999/')).toBe(true)
    expect(c.allows('https://b.example.cn:8443/')).toBe(true)
    expect(c.allows('https://b.example.cn/')).toBe(false)
    expect(c.allows('https://[2001:db8::1]/')).toBe(true)
    expect(c.allows('http://[2001:db8::1]/')).toBe(false)
    expect(new HttpClient({ allowHosts: ['b.example.cn:443'] }).allows('https://b.example.cn/')).toBe(true)
    expect(new HttpClient({ allowHosts: [] }).allows('https://b.example.cn/')).toBe(false)
  })

  it('refuses literal private addresses even when they are allowed hosts, unless allowPrivateAddresses', async () => {
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '[::1]', '[::ffff:127.0.0.1]']) {
      const c = client({ allowHosts: [host] })
      const e = await failure(c.request({ method: 'GET', url: `http://${host}/`, signal: signal() }))
      expect(e.retryable, host).toBe(false)
      expect(e.message).toContain('private address')
    }
    mock.get('http://10.1.2.3').intercept({ path: '/' }).reply(200, 'ok')
    const ok = client({ allowHosts: ['10.1.2.3'], allowPrivateAddresses: true })
    expect((await ok.request({ method: 'GET', url: 'http://10.1.2.3/', signal: signal() })).status).toBe(200)
  })

  it('refuses a declared Content-Length over the limit, and a streamed body over it', async () => {
    const pool = mock.get('https://api.example.cn')
    pool.intercept({ path: '/declared' }).reply(200, 'x'.repeat(2000), { headers: { 'content-length': '2000' } })
    pool.intercept({ path: '/streamed' }).reply(200, 'x'.repeat(2000))
    const c = client({ maxResponseBytes: 1000 })
    for (const path of ['/declared', '/streamed']) {
      const e = await failure(c.request({ method: 'GET', url: `https://api.example.cn${path}`, signal: signal() }))
      expect(e.retryable).toBe(false)
      expect(e.message).toMatch(/too large/)
    }
  })

  it('accepts a body of exactly the limit', async () => {
    mock.get('https://api.example.cn').intercept({ path: '/' }).reply(200, 'x'.repeat(1000))
    const res = await client({ maxResponseBytes: 1000 }).request({
      method: 'GET',
      url: 'https://api.example.cn/',
      signal: signal(),
    })
    expect(res.body.length).toBe(1000)
  })

  // A minute's delay: what ends these calls is the timeout or the abort under test, never the answer.
  it('times out waiting for headers: retryable', async () => {
    mock.get('https://api.example.cn').intercept({ path: '/' }).reply(200, 'late').delay(60_000)
    const e = await failure(client().request({ method: 'GET', url: 'https://api.example.cn/', signal: signal() }))
    expect(e.retryable).toBe(true)
    expect(e.message).toMatch(/timed out: no response headers within 100 ms/)
  })

  it('an abort by the caller is retryable; an already aborted signal fails at once', async () => {
    let reached = () => {}
    const inFlight = new Promise<void>((resolve) => {
      reached = resolve
    })
    mock
      .get('https://api.example.cn')
      .intercept({ path: '/' })
      .reply(() => {
        reached()
        return { statusCode: 200, data: 'late' }
      })
      .delay(60_000)
    const ac = new AbortController()
    const failing = failure(
      client({ headersTimeoutMs: 120_000 }).request({
        method: 'GET',
        url: 'https://api.example.cn/',
        signal: ac.signal,
      }),
    )
    await inFlight
    ac.abort()
    const e = await failing
    expect(e).toMatchObject({ retryable: true })
    expect(e.message).toMatch(/aborted/)
    const again = await failure(
      client().request({ method: 'GET', url: 'https://api.example.cn/', signal: AbortSignal.abort() }),
    )
    expect(again.retryable).toBe(true)
  })

  it('network errors are retryable and keep their cause', async () => {
    mock
      .get('https://api.example.cn')
      .intercept({ path: '/' })
      .replyWithError(Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }))
    const e = await failure(client().request({ method: 'GET', url: 'https://api.example.cn/', signal: signal() }))
    expect(e.retryable).toBe(true)
    expect(e.cause).toBeInstanceOf(Error)
    expect(e.context).toMatchObject({ method: 'GET', host: 'api.example.cn', path: '/' })
  })

  it('a closed client refuses calls (retryable) and closing twice is fine', async () => {
    const c = client()
    await c.close()
    await c.close()
    expect(
      (await failure(c.request({ method: 'GET', url: 'https://api.example.cn/', signal: signal() }))).retryable,
    ).toBe(true)
  })
})
