import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { scratchDatabase, sqlQuery } from '../helpers/db.js'
import { startGateway, stopAllGateways } from '../helpers/process.js'
import { testQueuePrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

// A port of this suite's range where nothing listens until the test starts its own redis-server.
const redisPort = 16510
const reminderMs = 3000
// Must appear in no log line.
const password = 'not-logged-7f3a'
const sql = sqlQuery as (url: string, text: string, params?: unknown[]) => Promise<any[]>

const cleanups: (() => Promise<unknown>)[] = []
let redisServer: ChildProcess | undefined
afterAll(async () => {
  await stopAllGateways()
  if (redisServer && redisServer.exitCode === null) {
    const exited = new Promise((r) => redisServer?.once('exit', r))
    redisServer.kill('SIGTERM')
    await exited
  }
  for (const c of cleanups.reverse()) await c()
})

function startRedisServer(dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(redisPort), '--bind', '127.0.0.1', '--requirepass', password],
      ...['--save', '', '--appendonly', 'no', '--dir', dir],
    ],
    { stdio: 'ignore' },
  )
  return waitFor(
    'the test redis-server',
    async () => {
      const probe = new Redis({
        port: redisPort,
        host: '127.0.0.1',
        password,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      })
      probe.on('error', () => {})
      try {
        await probe.connect()
        return (await probe.ping()) === 'PONG' ? child : undefined
      } catch {
        return undefined
      } finally {
        probe.disconnect()
      }
    },
    20_000,
  )
}

const lines = (out: string) => out.split('\n').filter((l) => l.startsWith('{'))

describe('Redis unreachable at start', () => {
  it('explains once, reminds at most once per interval, takes cases meanwhile and delivers them when Redis is back', async () => {
    const db = await scratchDatabase('redisout')
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-redisout-'))
    cleanups.push(
      () => db.drop(),
      () => rm(dataDir, { recursive: true, force: true }),
    )
    const env = {
      DATABASE_URL: db.url,
      TONGBAN_DATA_DIR: dataDir,
      QUEUE_PREFIX: testQueuePrefix(),
      REDIS_URL: `redis://:${password}@127.0.0.1:${redisPort}`,
      OUTAGE_REMINDER_MS: String(reminderMs),
    }
    const gw = await startGateway(env, 120_000)
    const explained = await waitFor('the outage line', async () =>
      lines(gw.output()).find((l) => l.includes('Redis unreachable at start')),
    )
    expect(explained).toContain(`127.0.0.1:${redisPort}`)
    expect(explained).toContain('start Redis, or correct REDIS_URL')
    expect(explained).toContain('outbox')

    // The first-start token (admin) issues the first security token, which issues an operator's token; a
    // case is submitted while Redis is away.
    const admin = /^ {4}(tbp_\S+)$/m.exec(
      await waitFor('the first-start token', async () => /^ {4}tbp_/m.test(gw.output()) && gw.output()),
    )?.[1]
    const bootstrap = await fetch(`${gw.url}/v1/admin/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'security' }),
    })
    expect(bootstrap.status).toBe(201)
    const security = ((await bootstrap.json()) as { token: string }).token
    const issued = await fetch(`${gw.url}/v1/admin/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${security}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'operator', region: '420303', window: 'ZW-01' }),
    })
    const { token } = (await issued.json()) as { token: string }
    expect(issued.status).toBe(201)
    const submitted = await fetch(`${gw.url}/v1/cases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'out-1' },
      body: JSON.stringify(hukouCertificate({ externalRef: 'out-1' })),
    })
    const created = (await submitted.json()) as { case: { id: string } }
    expect(submitted.status, JSON.stringify(created)).toBe(201)

    // Two reminders into the outage, the log holds the one explanation, reminders at least an interval
    // apart (by the gateway's own timestamps: a busy machine only spreads them), and nothing else about Redis.
    const remindersIn = (out: string[]) => out.filter((l) => l.includes('Redis still unreachable'))
    await waitFor('two reminders', async () => remindersIn(lines(gw.output())).length >= 2, 60_000)
    const during = lines(gw.output())
    expect(during.filter((l) => l.includes('Redis unreachable at start'))).toHaveLength(1)
    const stamps = [explained, ...remindersIn(during)].map((l) => Date.parse((JSON.parse(l) as { time: string }).time))
    for (let i = 1; i < stamps.length; i++) {
      // A timer may fire a millisecond before the millisecond clock says its interval is over.
      expect(stamps[i]! - stamps[i - 1]!, `reminders at ${stamps.join(', ')}`).toBeGreaterThanOrEqual(reminderMs - 5)
    }
    const otherWarnings = during.filter(
      (l) =>
        /"level":(40|50)/.test(l) &&
        !l.includes('Redis unreachable at start') &&
        !l.includes('Redis still unreachable') &&
        !l.includes('generated a new') &&
        // This suite's gateway runs as the superuser that created its database; the start-up warning
        // about that (a runtime role, docs/trust.md) is true here and says nothing about Redis.
        !l.includes('the gateway runs as a superuser or the owner of its tables') &&
        !l.includes('"route":"/readyz"'),
    )
    expect(otherWarnings).toEqual([])
    expect(gw.output()).not.toContain(password)

    redisServer = await startRedisServer(dataDir)
    await waitFor('the "back" line', async () => gw.output().includes('Redis back'), 30_000)
    await waitFor(
      'the case delivered',
      async () =>
        (await sql(db.url, 'select status from cases where id = $1', [created.case.id]))[0]?.status !== 'submitted',
      60_000,
    )
    expect(lines(gw.output()).filter((l) => l.includes('Redis back'))).toHaveLength(1)
    expect(gw.output()).not.toContain(password)
    expect(await gw.stop()).toBe(0)
  }, 300_000)
})
