/**
 * A real PostgreSQL outage answers 503 `database_unavailable` with Retry-After (not an opaque 500), so that a
 * caller knows a retry will work; and once the server is back, the same gateway answers again. The test runs
 * its own PostgreSQL (initdb + pg_ctl, port 16441) and stops it with `pg_ctl -m immediate stop`.
 */
import { execFile } from 'node:child_process'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import { createRuntime, type Runtime } from '../../src/main.js'
import { createToken } from '../../src/services/admin/clients.js'
import { fixedClock } from '../helpers/app.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

const run = promisify(execFile)
const PORT = 16441
let dir: string
let runtime: Runtime | undefined
let app: ReturnType<typeof createApp>
let token: string
const queuePrefix = testQueuePrefix()

/** PostgreSQL refuses to run as root: run its tools as `postgres` then. */
function pgTool(tool: string, args: string[]) {
  const asRoot = userInfo().uid === 0
  return asRoot
    ? run('runuser', ['-u', 'postgres', '--', tool, ...args], { timeout: 60_000 })
    : run(tool, args, { timeout: 60_000 })
}

const pgCtl = (...args: string[]) =>
  pgTool('pg_ctl', [
    '-D',
    path.join(dir, 'data'),
    '-l',
    path.join(dir, 'log'),
    '-w',
    '-t',
    '30',
    '-o',
    `-p ${PORT} -c listen_addresses=127.0.0.1 -k ${dir}`,
    ...args,
  ])

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-outage-'))
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const uid = Number(stdout.trim())
    await chown(dir, uid, uid)
  }
  await pgTool('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'])
  await pgCtl('start')
  const dataDir = path.join(dir, 'gateway')
  const config = loadConfig({
    DATABASE_URL: `postgres://postgres@127.0.0.1:${PORT}/postgres`,
    REDIS_URL: testRedisUrl,
    QUEUE_PREFIX: queuePrefix,
    GATEWAY_ID: 'gw-test',
    TONGBAN_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RETENTION_INTERVAL_MS: '0',
  })
  runtime = await createRuntime(config, createLogger('silent'), {
    clock: fixedClock('2026-09-29T09:00:00+08:00'),
    workers: false,
  })
  app = createApp(runtime.deps)
  token = (await createToken({ caller: null, deps: runtime.deps.admin }, { role: 'admin', name: 'outage admin' })).token
}, 120_000)

afterAll(async () => {
  await runtime?.close()
  await pgCtl('-m', 'immediate', 'stop').catch(() => undefined)
  await cleanQueuePrefix(queuePrefix)
  await rm(dir, { recursive: true, force: true })
}, 60_000)

const get = (p: string) => app.request(p, { headers: { authorization: `Bearer ${token}` } })

describe('PostgreSQL outage', () => {
  it('answers 503 database_unavailable with Retry-After while the server is down, and works again after', async () => {
    expect((await get('/v1/admin/clients')).status).toBe(200)

    await pgCtl('-m', 'immediate', 'stop')
    // Twice: the first request meets the pool's broken connections, the second a refused connection.
    for (let i = 0; i < 2; i++) {
      const res = await get('/v1/admin/clients')
      const body = await res.json()
      expect(res.status, JSON.stringify(body)).toBe(503)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(body).toMatchObject({ code: 'database_unavailable', status: 503 })
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/)
    }

    await pgCtl('start')
    const res = await get('/v1/admin/clients')
    expect(res.status).toBe(200)
  }, 90_000)
})
