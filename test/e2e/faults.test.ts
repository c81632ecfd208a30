/**
 * Faults on the real services, with real processes: two worker processes on one queue, a worker killed
 * in the middle of a delivery, and Redis going away while cases flow (a Redis of this test's own, on a
 * port of its own, so that the machine's Redis is never disturbed).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { scratchDatabase, sqlQuery } from '../helpers/db.js'
import { repoRoot, runCli, startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor as waitUntil } from '../helpers/wait.js'

const cleanups: (() => Promise<unknown>)[] = []
const children: ChildProcess[] = []

afterAll(async () => {
  await stopAllGateways()
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  for (const c of cleanups.reverse()) await c().catch(() => {})
}, 60_000)

const query = sqlQuery as (url: string, text: string, params?: unknown[]) => Promise<any[]>

async function environment(name: string, redisUrl = testRedisUrl) {
  const db = await scratchDatabase(`fault_${name}`)
  const dir = await mkdtemp(path.join(tmpdir(), `tongban-fault-${name}-`))
  const prefix = testQueuePrefix()
  cleanups.push(
    () => db.drop(),
    () => rm(dir, { recursive: true, force: true }),
    () => cleanQueuePrefix(prefix),
  )
  return {
    DATABASE_URL: db.url,
    TONGBAN_DATA_DIR: dir,
    QUEUE_PREFIX: prefix,
    GATEWAY_ID: 'gw-420300',
    REDIS_URL: redisUrl,
    WORKER_LOCK_MS: '2000',
    SWEEP_INTERVAL_MS: '1000',
    SWEEP_STALE_MS: '3000',
  }
}

/** The processing system: counts deliveries per idempotency key; `delayMs` holds each answer. */
async function processingSystem() {
  const state = { calls: 0, keys: new Map<string, number>(), delayMs: 0, received: 0 }
  const app = new Hono()
  app.post('/cases', async (c) => {
    state.calls++
    state.received++
    const key = c.req.header('idempotency-key') ?? ''
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs))
    state.keys.set(key, (state.keys.get(key) ?? 0) + 1)
    return c.json({ ref: `REF-${key.slice(-12)}`, receipt: 'r.e.c' }, 201)
  })
  app.get('/health', (c) => c.json({ ok: true }))
  const url = await new Promise<string>((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))))
  })
  return { state, url }
}

async function prepare(env: Record<string, string>, systemUrl: string) {
  const admin = (await runCli(['tokens', 'create', '--role', 'admin'], env)).stdout.trim()
  const operator = (
    await runCli(['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'W'], env)
  ).stdout.trim()
  return { admin, operator, systemUrl }
}

async function bind(url: string, admin: string, systemUrl: string) {
  const res = await fetch(`${url}/v1/admin/bindings/420600`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ adapter: 'sim', settings: { baseUrl: systemUrl } }),
  })
  expect(res.status, await res.clone().text()).toBe(200)
}

async function submit(url: string, operator: string, i: number): Promise<string> {
  const res = await fetch(`${url}/v1/cases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json', 'idempotency-key': `f-${i}` },
    body: JSON.stringify(hukouCertificate({ externalRef: `F-${i}` })),
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return ((await res.json()) as { case: { id: string } }).case.id
}

async function dispatchedCount(env: Record<string, string>): Promise<number> {
  const [row] = await query(
    env.DATABASE_URL as string,
    "select count(*)::int as n from case_events where type = 'dispatched'",
  )
  return row.n
}

function startWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli.ts'), 'worker'], {
    cwd: repoRoot,
    // Two workers at once on this machine: each its own health port.
    env: { ...process.env, LOG_LEVEL: 'warn', WORKER_HEALTH_PORT: '0', ...env },
  })
  child.stdout?.resume()
  child.stderr?.resume()
  children.push(child)
  return child
}

const waitFor = <T>(what: string, f: () => Promise<T | undefined | null | false>, ms = 30_000) => waitUntil(what, f, ms)

describe('faults', () => {
  it('two worker processes on one queue deliver each case exactly once', async () => {
    const env = await environment('two')
    const system = await processingSystem()
    const { admin, operator } = await prepare(env, system.url)
    const gw = await startGateway(env)
    startWorker(env)
    await bind(gw.url, admin, system.url)
    const ids: string[] = []
    for (let i = 0; i < 30; i++) ids.push(await submit(gw.url, operator, i))
    await waitFor('30 cases dispatched', async () => (await dispatchedCount(env)) >= 30)
    expect(await dispatchedCount(env)).toBe(30)
    expect([...system.state.keys.keys()].sort()).toEqual([...ids].sort())
    const rows = await query(
      env.DATABASE_URL,
      "select case_id, count(*)::int as n from case_events where type = 'dispatched' group by case_id",
    )
    expect(rows.every((r) => r.n === 1)).toBe(true)
  }, 120_000)

  it('a worker killed in the middle of a delivery: another takes the job over, the other side sees one case', async () => {
    const env = await environment('kill')
    const system = await processingSystem()
    const { admin, operator } = await prepare(env, system.url)
    // An API-only gateway (no queue workers of its own): the deliveries are the `tongban worker` processes'.
    const api = await startGateway({ ...env, QUEUE_CONCURRENCY: '0' })
    await bind(api.url, admin, system.url)
    const doomed = startWorker(env)
    // The doomed worker consumes before the slow delivery is submitted (the API's readiness counts consumers).
    await waitFor(
      'the worker consuming',
      async () => {
        const ready = (await (await fetch(`${api.url}/readyz`)).json()) as { checks: { consumers?: { ok: boolean } } }
        return ready.checks.consumers?.ok
      },
      120_000,
    )
    system.state.delayMs = 3000
    const id = await submit(api.url, operator, 100)
    await waitFor('the delivery to reach the other side', async () => system.state.received > 0)
    doomed.kill('SIGKILL')
    system.state.delayMs = 0
    startWorker(env)
    await waitFor('dispatched after the take-over', async () => (await dispatchedCount(env)) >= 1, 60_000)
    // The first attempt's answer was lost with the worker; the retry carried the same key: one case there.
    expect(system.state.keys.size).toBe(1)
    expect(system.state.keys.get(id)).toBeGreaterThanOrEqual(1)
    const events = await query(env.DATABASE_URL, 'select type from case_events where case_id = $1 order by seq', [id])
    expect(events.map((e) => e.type)).toEqual(['submitted', 'dispatched'])
  }, 120_000)

  it('Redis going away while cases flow: intake continues, nothing is lost, readiness follows Redis', async () => {
    const port = await freePort()
    const redisUrl = `redis://127.0.0.1:${port}`
    const startRedis = () => {
      const r = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      )
      children.push(r)
      return r
    }
    let redis = startRedis()
    const env = await environment('redis', redisUrl)
    const system = await processingSystem()
    const { admin, operator } = await prepare(env, system.url)
    const gw = await startGateway(env)
    await bind(gw.url, admin, system.url)
    const ready = async () => (await fetch(`${gw.url}/readyz`)).status
    await waitFor('ready', async () => (await ready()) === 200)
    for (let i = 0; i < 5; i++) await submit(gw.url, operator, 200 + i)
    redis.kill('SIGKILL')
    await waitFor('not ready without Redis', async () => (await ready()) === 503)
    for (let i = 5; i < 10; i++) await submit(gw.url, operator, 200 + i)
    redis = startRedis()
    await waitFor('ready again', async () => (await ready()) === 200, 60_000)
    await waitFor('all 10 dispatched', async () => (await dispatchedCount(env)) >= 10, 60_000).catch(async (e) => {
      console.log('DEBUG outbox', await query(env.DATABASE_URL, 'select count(*)::int as n from outbox'))
      console.log(
        'DEBUG statuses',
        await query(env.DATABASE_URL, 'select status, count(*)::int as n from cases group by status'),
      )
      console.log(
        'DEBUG log',
        gw
          .output()
          .split('\n')
          .filter((l) => /"level":[45]0/.test(l))
          .slice(-15)
          .join('\n'),
      )
      throw e
    })
    expect(await dispatchedCount(env)).toBe(10)
    expect(system.state.keys.size).toBe(10)
  }, 180_000)
})

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}
