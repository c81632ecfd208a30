/**
 * Builds the real gateway runtime for HTTP tests (`createRuntime`, as `tongban serve` does) over a fresh
 * PostgreSQL database (or PGlite), a random queue prefix and a temporary data directory, and offers
 * callers: an admin token, operator tokens, and registered system clients that sign every request.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../config/env.js'
import { createApp } from '../../src/app.js'
import type { ReadinessCheck } from '../../src/http/deps.js'
import { createLogger, type Logger } from '../../src/logger.js'
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/main.js'
import type { Clock } from '../../src/ports/clock.js'
import { createToken } from '../../src/services/admin/clients.js'
import { type ClientKey, newClientKey, signAssertion } from './client-assertion.js'
import { createTestDatabase, dropRole } from './db.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisEnv } from './redis.js'

export function fixedClock(iso: string): Clock & { set(iso: string): void; advance(ms: number): void } {
  let now = new Date(iso)
  return {
    now: () => new Date(now),
    set(next: string) {
      now = new Date(next)
    },
    advance(ms: number) {
      now = new Date(now.getTime() + ms)
    },
  }
}

export interface Response {
  status: number
  body: any
  headers: Headers
}

export interface TestClient {
  id: string
  key: ClientKey
  /** A request signed with a fresh assertion (PROTOCOL §2). */
  call(method: string, pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
}

export interface TestApp {
  app: ReturnType<typeof createApp>
  runtime: Runtime
  clock: ReturnType<typeof fixedClock>
  gatewayId: string
  queuePrefix: string
  /** The owner's URL (the superuser that created the database). */
  databaseUrl: string
  /** The URL the gateway runs as: the runtime role's with `runtimeRole`, else `databaseUrl`. */
  runtimeDatabaseUrl: string
  /** The configuration the runtime was built with (its data directory holds the gateway's key set). */
  config: ReturnType<typeof loadConfig>
  /** The environment a `tongban` command needs to act on this gateway (its database, keys, id and queues). */
  cliEnv: Record<string, string>
  adminToken: string
  /** Tokens of the separated duties (三员分立): the security administrator and the auditor. */
  securityToken: string
  auditorToken: string
  /** An unauthenticated-or-token request. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
  /** A request with the admin token. */
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
  /** A request with the security administrator's token (tokens, keys, revocations). */
  security(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
  /** A request with the auditor's token (the audit trail, the reports). */
  auditor(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
  operator(region: string, window: string, name?: string): Promise<{ token: string; call: TestApp['call'] }>
  /** A registered system client; with `departments`, limited to them (PROTOCOL 1.1 §2). */
  client(id: string, regions: string[], alg?: 'ES256' | 'EdDSA' | 'SM2', departments?: string[]): Promise<TestClient>
  close(): Promise<void>
}

async function toResponse(res: globalThis.Response): Promise<Response> {
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers }
}

export async function createTestApp(
  opts: {
    now?: string
    readiness?: ReadinessCheck[]
    workers?: boolean
    env?: Record<string, string>
    /**
     * Run the gateway as this runtime role (created by the start-up migration as the owner, dropped on
     * close; unique per test file), with the superuser as DATABASE_MIGRATION_URL (docs/trust.md).
     */
    runtimeRole?: string
    /** The runtime's and the app's logger (default: silent); log-privacy tests capture its lines. */
    logger?: Logger
    /** More runtime options (the caches' time-out, a listener for revocation notices). */
    runtime?: Pick<RuntimeOptions, 'authCacheMs' | 'onRevocationNotice'>
  } = {},
): Promise<TestApp> {
  const db = await createTestDatabase({ migrate: false })
  const runtimeUrl = opts.runtimeRole ? withUser(db.url, opts.runtimeRole, 'runtime-secret') : db.url
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-test-'))
  const queuePrefix = testQueuePrefix()
  const gatewayId = opts.env?.GATEWAY_ID ?? 'gw-test'
  const config = loadConfig({
    DATABASE_URL: runtimeUrl,
    ...(opts.runtimeRole ? { DATABASE_MIGRATION_URL: db.url } : {}),
    ...testRedisEnv(),
    QUEUE_PREFIX: queuePrefix,
    GATEWAY_ID: gatewayId,
    TONGBAN_DATA_DIR: dataDir,
    BODY_LIMIT_BYTES: String(64 * 1024),
    LOG_LEVEL: 'silent',
    // Tests move the clock by weeks: no background pruning of what a later step may replay.
    RETENTION_INTERVAL_MS: '0',
    // The deployment's cryptographic profile comes from the environment, so that any suite can run under it
    // (e.g. HASH_ALG=sm3 PII_CIPHER=sm4-gcm npx vitest run test/http/evidence.test.ts).
    ...profileFromEnvironment(),
    ...opts.env,
  })
  const clock = fixedClock(opts.now ?? '2026-09-29T09:00:00+08:00')
  const runtime = await createRuntime(config, opts.logger ?? createLogger('silent'), {
    clock,
    workers: opts.workers ?? false,
    ...opts.runtime,
  })
  if (opts.readiness) runtime.deps.readiness = opts.readiness
  const app = createApp(runtime.deps)

  const raw = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    return toResponse(await app.request(p, init))
  }
  const withToken =
    (token: string) =>
    (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
      raw(method, p, body, { authorization: `Bearer ${token}`, ...headers })

  const admin = await createToken({ caller: null, deps: runtime.deps.admin }, { role: 'admin', name: 'test admin' })
  const security = await createToken(
    { caller: null, deps: runtime.deps.admin },
    { role: 'security', name: 'test security' },
  )
  const auditor = await createToken(
    { caller: null, deps: runtime.deps.admin },
    { role: 'auditor', name: 'test auditor' },
  )

  return {
    app,
    runtime,
    clock,
    gatewayId,
    queuePrefix,
    databaseUrl: db.url,
    runtimeDatabaseUrl: runtimeUrl,
    config,
    cliEnv: {
      DATABASE_URL: db.url,
      TONGBAN_DATA_DIR: config.dataDir,
      GATEWAY_ID: gatewayId,
      QUEUE_PREFIX: queuePrefix,
    },
    adminToken: admin.token,
    securityToken: security.token,
    auditorToken: auditor.token,
    call: raw,
    admin: withToken(admin.token),
    security: withToken(security.token),
    auditor: withToken(auditor.token),
    async operator(region, window, name) {
      const t = await createToken(
        { caller: null, deps: runtime.deps.admin },
        {
          role: 'operator',
          region,
          window,
          name: name ?? `operator ${window}`,
        },
      )
      return { token: t.token, call: withToken(t.token) }
    },
    async client(id, regions, alg = 'ES256', departments) {
      const key = await newClientKey(alg)
      const res = await withToken(admin.token)('POST', '/v1/admin/clients', {
        id,
        regions,
        jwks: key.jwks,
        ...(departments ? { departments } : {}),
      })
      if (res.status !== 201) throw new Error(`registering ${id}: ${res.status} ${JSON.stringify(res.body)}`)
      return {
        id,
        key,
        async call(method, pathAndQuery, body, headers = {}) {
          const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
          const assertion = await signAssertion({
            clientId: id,
            key,
            audience: gatewayId,
            method,
            pathAndQuery,
            ...(text !== undefined ? { body: text } : {}),
            now: clock.now(),
          })
          return raw(method, pathAndQuery, text, { authorization: `Bearer ${assertion}`, ...headers })
        },
      }
    },
    async close() {
      await runtime.close()
      await db.drop()
      if (opts.runtimeRole) await dropRole(opts.runtimeRole)
      await cleanQueuePrefix(queuePrefix)
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

const PROFILE_VARIABLES = ['SIGNING_ALG', 'HASH_ALG', 'PII_CIPHER'] as const

function profileFromEnvironment(): Record<string, string> {
  return Object.fromEntries(PROFILE_VARIABLES.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])))
}

function withUser(url: string, user: string, password: string): string {
  const u = new URL(url)
  u.username = user
  u.password = password
  return u.toString()
}
