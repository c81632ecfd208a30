/** JwksFetcher against a real node:http server on 127.0.0.1 (the global fetch, no mocks). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import { JwksFetcher } from '../../src/security/jwks-fetch.js'
import { type ClientKey, newClientKey } from '../helpers/client-assertion.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const servers: Server[] = []

async function serve(handler: Handler): Promise<{ url: (p?: string) => string; hits: () => number; server: Server }> {
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    handler(req, res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: (p = '/jwks.json') => `http://127.0.0.1:${port}${p}`, hits: () => hits, server }
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => (s.listening ? stop(s) : undefined)))
})

const jwksHandler =
  (jwks: () => object): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(jwks()))
  }

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(e, 'expected a refusal').toBeInstanceOf(AppError)
  expect((e as AppError).code).toBe('unauthenticated')
  return (e as AppError).message
}

const header = (key: ClientKey) => ({ alg: key.alg, kid: key.kid })

describe('JwksFetcher', () => {
  it('resolves an SM2 key (crv SM2) by alg and kid, and none for another alg under its kid', async () => {
    const sm2 = await newClientKey('SM2')
    const es = await newClientKey('ES256')
    const { url } = await serve(jwksHandler(() => ({ keys: [es.publicJwk, sm2.publicJwk] })))
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'] })
    const keys = await fetcher.keyFor(url())(header(sm2))
    expect(keys).toHaveLength(1)
    expect(await reason(fetcher.keyFor(url())({ alg: 'ES256', kid: sm2.kid }))).toBe('unknown key')
  })

  it('gives the whole set (extra members such as revokedAt kept), from the cache, refetching for an unknown kid', async () => {
    const first = await newClientKey()
    const second = await newClientKey('EdDSA')
    let jwks: object = { keys: [{ ...first.publicJwk, revokedAt: '2026-10-01T00:00:00.000Z' }] }
    const { url, hits } = await serve(jwksHandler(() => jwks))
    let now = 1_000_000
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'], now: () => now })
    const got = await fetcher.jwks(url())
    expect(got.keys).toEqual([expect.objectContaining({ kid: first.kid, revokedAt: '2026-10-01T00:00:00.000Z' })])
    await fetcher.keyFor(url())(header(first))
    expect(hits()).toBe(1)
    jwks = { keys: [second.publicJwk, first.publicJwk] }
    now += 1000
    expect((await fetcher.jwks(url(), second.kid)).keys.map((k) => k.kid)).toEqual([second.kid, first.kid])
    expect(hits()).toBe(2)
    // Another unknown kid within 30 s: the cached set, no request.
    await fetcher.jwks(url(), 'unknown')
    expect(hits()).toBe(2)
    expect(await reason(new JwksFetcher({ allowHosts: [] }).jwks(url()))).toBe('JWKS host not allowed')
  })

  it('fetches a JWKS once and serves later lookups from the cache', async () => {
    const key = await newClientKey()
    const { url, hits } = await serve(jwksHandler(() => key.jwks))
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'] })
    const resolve = fetcher.keyFor(url())
    const [a, b] = await Promise.all([resolve(header(key)), resolve(header(key))])
    expect(a).toBeDefined()
    expect(b).toBeDefined()
    await fetcher.keyFor(url())(header(key))
    expect(hits()).toBe(1)
  })

  it('refetches after cacheMs, and for an unknown kid at most once per 30 s', async () => {
    const first = await newClientKey()
    const second = await newClientKey('EdDSA')
    let jwks: object = first.jwks
    const { url, hits } = await serve(jwksHandler(() => jwks))
    let now = 1_000_000
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'], cacheMs: 60_000, now: () => now })
    const resolve = fetcher.keyFor(url())
    await resolve(header(first))
    expect(hits()).toBe(1)
    now += 1000
    // The client rotated: an unknown kid refetches once …
    jwks = { keys: [first.publicJwk, second.publicJwk] }
    await resolve(header(second))
    expect(hits()).toBe(2)
    // … but a forged kid cannot make it refetch again within 30 s.
    expect(await reason(resolve({ alg: 'ES256', kid: 'forged-1' }))).toBe('unknown key')
    expect(await reason(resolve({ alg: 'ES256', kid: 'forged-2' }))).toBe('unknown key')
    expect(hits()).toBe(2)
    now += 31_000
    expect(await reason(resolve({ alg: 'ES256', kid: 'forged-3' }))).toBe('unknown key')
    expect(hits()).toBe(3)
    now += 61_000
    await resolve(header(first))
    expect(hits()).toBe(4)
  })

  it('refuses hosts off the allow-list, and http to anything but loopback, without a request', async () => {
    const key = await newClientKey()
    const { url, hits } = await serve(jwksHandler(() => key.jwks))
    expect(await reason(new JwksFetcher({ allowHosts: ['keys.example.cn'] }).keyFor(url())(header(key)))).toBe(
      'JWKS host not allowed',
    )
    const open = new JwksFetcher({ allowHosts: ['keys.example.cn', '127.0.0.1'] })
    expect(await reason(open.keyFor('http://keys.example.cn/jwks.json')(header(key)))).toBe('JWKS host not allowed')
    expect(await reason(open.keyFor('ftp://127.0.0.1/jwks.json')(header(key)))).toBe('JWKS host not allowed')
    expect(await reason(open.keyFor('not a url')(header(key)))).toBe('JWKS host not allowed')
    expect(await reason(open.keyFor(url().replace('//', '//user:pw@'))(header(key)))).toBe('JWKS host not allowed')
    expect(hits()).toBe(0)
  })

  it('refuses redirects without following them', async () => {
    const key = await newClientKey()
    const target = await serve(jwksHandler(() => key.jwks))
    const { url } = await serve((_req, res) => {
      res.writeHead(302, { location: target.url() })
      res.end()
    })
    expect(await reason(new JwksFetcher({ allowHosts: ['127.0.0.1'] }).keyFor(url())(header(key)))).toBe(
      'JWKS redirect refused',
    )
    expect(target.hits()).toBe(0)
  })

  it('refuses oversized responses, declared or streamed', async () => {
    const key = await newClientKey()
    const padded = JSON.stringify({ ...key.jwks, padding: 'x'.repeat(70_000) })
    const declared = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(padded) })
      res.end(padded)
    })
    const streamed = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(padded.slice(0, 40_000))
      setTimeout(() => res.end(padded.slice(40_000)), 10)
    })
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'] })
    expect(await reason(fetcher.keyFor(declared.url())(header(key)))).toBe('JWKS too large')
    expect(await reason(fetcher.keyFor(streamed.url())(header(key)))).toBe('JWKS too large')
  })

  it('times out on a server that never answers', async () => {
    const key = await newClientKey()
    const { url } = await serve(() => {})
    expect(
      await reason(new JwksFetcher({ allowHosts: ['127.0.0.1'], timeoutMs: 200 }).keyFor(url())(header(key))),
    ).toBe('JWKS fetch timed out')
  })

  it('refuses error statuses and malformed sets', async () => {
    const key = await newClientKey()
    const failing = await serve((_req, res) => {
      res.writeHead(500)
      res.end()
    })
    const garbage = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"keys": 42}')
    })
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'] })
    expect(await reason(fetcher.keyFor(failing.url())(header(key)))).toBe('JWKS fetch failed')
    expect(await reason(fetcher.keyFor(garbage.url())(header(key)))).toBe('JWKS malformed')
  })

  it('keeps using the cached set when the server goes down', async () => {
    const key = await newClientKey()
    const { url, server } = await serve(jwksHandler(() => key.jwks))
    let now = 1_000_000
    const fetcher = new JwksFetcher({ allowHosts: ['127.0.0.1'], cacheMs: 1000, timeoutMs: 500, now: () => now })
    await fetcher.keyFor(url())(header(key))
    await stop(server)
    now += 5000
    expect(await fetcher.keyFor(url())(header(key))).toBeDefined()
    // With no cached set, the same outage is a refusal.
    expect(await reason(new JwksFetcher({ allowHosts: ['127.0.0.1'] }).keyFor(url())(header(key)))).toBe(
      'JWKS fetch failed',
    )
  })
})
