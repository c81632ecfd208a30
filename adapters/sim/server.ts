/**
 * The simulated city system: a small Hono app that plays a region's processing system for demos and tests
 * (`tongban sim`). The gateway delivers cases to it through the `sim` adapter; it answers with a signed
 * receipt, then posts events back to the gateway as a registered system client (see engine.ts).
 *
 * Routes: `POST /cases` (Idempotency-Key) → 201 `{ ref, receipt }`; `POST /cases/{ref}/events` → 204;
 * `GET /cases/{ref}`; `GET /health`; `GET /.well-known/jwks.json`; `GET /stats`; `POST /admin/down|up`.
 * Fault injection: `failureRate` (503 on POST /cases), `latencyMs` (every answer), and `down` (503 to
 * everything but /admin while down). No authentication: the sim listens on loopback for demos and tests.
 *
 * @example
 * const sim = createSimApp({ port: 0, gatewayUrl: 'http://127.0.0.1:8080', acceptDelayMs: 10 })
 * const { url, close } = await sim.start()
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AdapterLogger } from '../../src/ports/region-adapter.js'
import { IncomingCase, IncomingFollowUp, type SimCaseView, SimEngine } from './engine.js'
import { loadOrCreateSimKey, type SimKey } from './keys.js'
import { GatewayNotifier, sleep } from './notifier.js'
import { SimOptions, type SimOptionsInput } from './options.js'

export interface SimAppDeps {
  logger?: AdapterLogger
  /** Decides rejections, denials, injected failures and jitter; default Math.random. */
  random?: () => number
  /** For the callbacks to the gateway; default the global fetch. */
  fetch?: typeof fetch
  /** Overrides `options.keyFile`. */
  key?: SimKey
}

export interface RunningSim {
  url: string
  port: number
  close(): Promise<void>
}

export interface SimApp {
  app: Hono
  options: SimOptions
  key: SimKey
  engine: SimEngine
  /** Listens on `options.host:options.port` (0: any free port). */
  start(): Promise<RunningSim>
  /** Stops the pipelines (when not started; `start().close` does this too). */
  close(): Promise<void>
}

const silent: AdapterLogger = { info() {}, warn() {}, error() {}, debug() {} }
const printable = /^[\x20-\x7e]{1,255}$/

function problem(c: Context, status: 400 | 404 | 413 | 500 | 503, code: string, detail: string) {
  if (status === 503) c.header('Retry-After', '1')
  return c.json({ type: 'about:blank', title: code.replaceAll('_', ' '), status, code, detail }, status, {
    'content-type': 'application/problem+json',
  })
}

async function readJson(c: Context): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await c.req.json() }
  } catch {
    return { ok: false }
  }
}

/**
 * Builds the sim: parses `options` (throws a ZodError for bad ones), loads or generates its key, and wires
 * the routes. Nothing listens until `start()`; the pipelines run as soon as a case arrives (also through
 * `app.request()`).
 */
export function createSimApp(options: SimOptionsInput | SimOptions, deps: SimAppDeps = {}): SimApp {
  const o = SimOptions.parse(options)
  const logger = deps.logger ?? silent
  const random = deps.random ?? Math.random
  const key = deps.key ?? loadOrCreateSimKey(o.keyFile, o.alg)
  const notifier = new GatewayNotifier({ ...o, key, logger, random, ...(deps.fetch ? { fetch: deps.fetch } : {}) })
  const engine = new SimEngine({ options: o, key, notifier, logger, random })
  const state = { down: false }
  const counters = { requests: 0, injectedFailures: 0, refusedWhileDown: 0, replays: 0 }

  const app = new Hono()
  app.use('*', async (c, next) => {
    counters.requests++
    if (o.latencyMs > 0) await sleep(o.latencyMs, c.req.raw.signal)
    if (state.down && !c.req.path.startsWith('/admin/')) {
      counters.refusedWhileDown++
      return problem(c, 503, 'down', `${o.simId} is down (POST /admin/up)`)
    }
    return next()
  })

  app.post('/admin/down', (c) => {
    state.down = true
    logger.warn({ simId: o.simId }, 'sim down')
    return c.body(null, 204)
  })
  app.post('/admin/up', (c) => {
    state.down = false
    logger.info({ simId: o.simId }, 'sim up')
    return c.body(null, 204)
  })

  app.get('/health', (c) => c.json({ ok: true, simId: o.simId, cases: engine.stats().cases }))
  app.get('/.well-known/jwks.json', (c) => c.json(key.jwks))
  app.get('/stats', (c) => c.json({ simId: o.simId, down: state.down, ...counters, ...engine.stats() }))

  const limit = bodyLimit({
    maxSize: 1024 * 1024,
    onError: (c) => problem(c, 413, 'payload_too_large', 'at most 1 MiB'),
  })

  app.post('/cases', limit, async (c) => {
    if (o.failureRate > 0 && random() < o.failureRate) {
      counters.injectedFailures++
      return problem(c, 503, 'injected_failure', 'simulated outage (failureRate)')
    }
    const idempotencyKey = c.req.header('idempotency-key')
    if (!idempotencyKey || !printable.test(idempotencyKey)) {
      return problem(c, 400, 'idempotency_key_missing', 'Idempotency-Key: 1–255 printable characters')
    }
    const body = await readJson(c)
    if (!body.ok) return problem(c, 400, 'bad_request', 'the body is not JSON')
    const parsed = IncomingCase.safeParse(body.value)
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => i.path.join('.') || '(body)').join(', ')
      return problem(c, 400, 'validation_failed', `invalid case: ${where}`)
    }
    const { ref, receipt, replayed } = engine.receive(idempotencyKey, parsed.data)
    if (replayed) {
      counters.replays++
      c.header('Idempotent-Replayed', 'true')
    }
    return c.json({ ref, receipt }, 201)
  })

  app.get('/cases/:ref', (c) => {
    const view: SimCaseView | null = engine.get(c.req.param('ref'))
    return view ? c.json(view) : problem(c, 404, 'not_found', 'no such case')
  })

  app.post('/cases/:ref/events', limit, async (c) => {
    const body = await readJson(c)
    if (!body.ok) return problem(c, 400, 'bad_request', 'the body is not JSON')
    const parsed = IncomingFollowUp.safeParse(body.value)
    if (!parsed.success) return problem(c, 400, 'validation_failed', 'expected { seq, type, at, data }')
    return engine.followUp(c.req.param('ref'), parsed.data)
      ? c.body(null, 204)
      : problem(c, 404, 'not_found', 'no such case')
  })

  app.notFound((c) => problem(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`))
  app.onError((err, c) => {
    logger.error({ err: err.message, path: c.req.path }, 'sim request failed')
    return problem(c, 500, 'internal', 'internal error')
  })

  return {
    app,
    options: o,
    key,
    engine,
    close: () => engine.close(),
    async start() {
      const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, port: o.port, hostname: o.host }, () => resolve(s))
        s.once('error', reject)
      })
      const port = (server.address() as AddressInfo).port
      const host = o.host.includes(':') ? `[${o.host}]` : o.host
      const url = `http://${host}:${port}`
      logger.info({ simId: o.simId, url, gateway: o.gatewayUrl, clientId: o.clientId, kid: key.kid }, 'sim listening')
      let closing: Promise<void> | undefined
      return {
        url,
        port,
        close() {
          closing ??= (async () => {
            await engine.close()
            await new Promise<void>((resolve) => {
              server.close(() => resolve())
              if ('closeAllConnections' in server) server.closeAllConnections()
            })
          })()
          return closing
        },
      }
    },
  }
}
