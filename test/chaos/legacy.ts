/**
 * A legacy system that cannot call back (a `rest` binding's far end), in the suite's own process, counting
 * what the gateway fleet does to it: each delivery per case id (the gateway's `x-idempotency-key`, which it
 * honours as such a system should: a case sent again gets the remote case it got the first time) and when
 * each case's status was polled.
 */
import { createServer, type Server } from 'node:http'
import { freePort } from './infra.js'

export class LegacySystem {
  /** Delivery requests per case id (more than one: sent again under the same key). */
  readonly deliveries = new Map<string, number>()
  /** When each remote case's status was asked for (this process's clock, ms). */
  readonly polls = new Map<string, number[]>()
  private readonly refs = new Map<string, string>()

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<LegacySystem> {
    const port = await freePort()
    let system: LegacySystem | undefined
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const answer = system?.answer(req.method ?? '', req.url ?? '', req.headers['x-idempotency-key'])
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(answer ?? { code: '0', data: {} }))
      })
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    system = new LegacySystem(server, `http://127.0.0.1:${port}`)
    return system
  }

  private answer(method: string, url: string, key: string | string[] | undefined): unknown {
    if (method === 'POST' && url === '/api/cases' && typeof key === 'string') {
      this.deliveries.set(key, (this.deliveries.get(key) ?? 0) + 1)
      let ref = this.refs.get(key)
      if (!ref) {
        ref = `LEGACY-${this.refs.size + 1}`
        this.refs.set(key, ref)
      }
      return { code: '0', data: { caseNo: ref } }
    }
    const status = /^\/api\/cases\/([^/]+)\/status$/.exec(url)
    if (method === 'GET' && status?.[1]) {
      const ref = decodeURIComponent(status[1])
      this.polls.set(ref, [...(this.polls.get(ref) ?? []), Date.now()])
      // Nothing has happened yet: the case stays open, so every round polls it again.
      return { code: '0', data: { events: [] } }
    }
    return { code: '0', data: {} }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections()
      this.server.close(() => resolve())
    })
  }
}
