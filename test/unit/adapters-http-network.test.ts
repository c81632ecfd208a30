/** The address guard and the no-redirect rule over real sockets: a node:http server on 127.0.0.1. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { HttpClient } from '../../adapters/_shared/http.js'
import { type AppError, isAppError } from '../../src/errors.js'

let server: Server
let port: number
const hits: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end()
    } else if (req.url === '/slow') {
      // Never answers (until afterAll closes the connections): only the client's timeout ends the call.
    } else if (req.url === '/big') {
      res.writeHead(200)
      res.write('x'.repeat(600))
      setTimeout(() => res.end('x'.repeat(600)), 10)
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

beforeEach(() => {
  hits.length = 0
})

const signal = () => new AbortController().signal

async function failure(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(isAppError(e), String(e)).toBe(true)
  return e as AppError
}

describe('HttpClient over the network', () => {
  it('refuses localhost (resolved by the guarded lookup) without allowPrivateAddresses', async () => {
    const http = new HttpClient({ allowHosts: ['localhost'] })
    const e = await failure(http.request({ method: 'GET', url: `http://localhost:${port}/`, signal: signal() }))
    expect(e).toMatchObject({ code: 'upstream_failed', retryable: false })
    expect(e.message).toMatch(/localhost resolves to a private address/)
    expect(hits).toEqual([])
    await http.close()
  })

  it('refuses the literal 127.0.0.1 without allowPrivateAddresses', async () => {
    const http = new HttpClient({ allowHosts: ['127.0.0.1'] })
    const e = await failure(http.request({ method: 'GET', url: `http://127.0.0.1:${port}/`, signal: signal() }))
    expect(e).toMatchObject({ code: 'upstream_failed', retryable: false })
    expect(hits).toEqual([])
    await http.close()
  })

  it('calls both with allowPrivateAddresses', async () => {
    const http = new HttpClient({ allowHosts: ['localhost', `127.0.0.1:${port}`], allowPrivateAddresses: true })
    for (const host of ['localhost', '127.0.0.1']) {
      const res = await http.request({ method: 'GET', url: `http://${host}:${port}/`, signal: signal() })
      expect(res.status).toBe(200)
      expect(res.json()).toEqual({ ok: true })
    }
    expect(hits).toEqual(['/', '/'])
    await http.close()
  })

  it('refuses a host that is not in allowHosts, even a reachable one', async () => {
    const http = new HttpClient({ allowHosts: ['gw.example.cn'], allowPrivateAddresses: true })
    const e = await failure(http.request({ method: 'GET', url: `http://127.0.0.1:${port}/`, signal: signal() }))
    expect(e).toMatchObject({ retryable: false, message: 'host not in the binding' })
    const other = new HttpClient({ allowHosts: ['127.0.0.1:1'], allowPrivateAddresses: true })
    expect(other.allows(`http://127.0.0.1:${port}/`)).toBe(false)
    expect(hits).toEqual([])
    await http.close()
    await other.close()
  })

  it('returns a 302 as is and does not follow it', async () => {
    const http = new HttpClient({ allowHosts: ['127.0.0.1'], allowPrivateAddresses: true })
    const res = await http.request({
      method: 'POST',
      url: `http://127.0.0.1:${port}/redirect`,
      body: '{}',
      signal: signal(),
    })
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe(`http://127.0.0.1:${port}/target`)
    expect(hits).toEqual(['/redirect'])
    await http.close()
  })

  it('times out waiting for headers (retryable), and caps a streamed body (non-retryable)', async () => {
    const http = new HttpClient({
      allowHosts: ['127.0.0.1'],
      allowPrivateAddresses: true,
      headersTimeoutMs: 100,
      maxResponseBytes: 1000,
    })
    const slow = await failure(http.request({ method: 'GET', url: `http://127.0.0.1:${port}/slow`, signal: signal() }))
    expect(slow).toMatchObject({ retryable: true })
    expect(slow.message).toMatch(/timed out/)
    const big = await failure(http.request({ method: 'GET', url: `http://127.0.0.1:${port}/big`, signal: signal() }))
    expect(big).toMatchObject({ retryable: false })
    expect(big.message).toMatch(/too large/)
    await http.close()
  })

  it('a refused connection is retryable', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const closedPort = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    const http = new HttpClient({ allowHosts: ['127.0.0.1'], allowPrivateAddresses: true })
    const e = await failure(http.request({ method: 'GET', url: `http://127.0.0.1:${closedPort}/`, signal: signal() }))
    expect(e).toMatchObject({ code: 'upstream_failed', retryable: true })
    expect(e.message).toMatch(/ECONNREFUSED/)
    await http.close()
  })
})
