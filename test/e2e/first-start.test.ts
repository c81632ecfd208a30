import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../helpers/app.js'
import { consoleSignIn } from '../helpers/console.js'
import { scratchDatabase } from '../helpers/db.js'
import { startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await stopAllGateways()
  for (const c of cleanups.reverse()) await c()
})

const tokenPattern = /^ {4}(tbp_[0-9a-f]{12}_[A-Za-z0-9_-]+)$/gm

describe('the first start', () => {
  it('creates one admin token, hands it over once with the console and docs URLs; it signs in to the console', async () => {
    const db = await scratchDatabase('firststart')
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-first-'))
    const prefix = testQueuePrefix()
    cleanups.push(
      () => db.drop(),
      () => rm(dataDir, { recursive: true, force: true }),
      () => cleanQueuePrefix(prefix),
    )
    // As the superuser, outside development, the gateway rightly warns that it could rewrite history
    // (docs/trust.md); this test looks for any other warning.
    const env = {
      DATABASE_URL: db.url,
      TONGBAN_DATA_DIR: dataDir,
      QUEUE_PREFIX: prefix,
      REDIS_URL: testRedisUrl,
      NODE_ENV: 'development',
    }

    const first = await startGateway(env, 120_000)
    // The message is written right after the "listening" line: wait for its end.
    await waitFor('the first-start message', async () => first.output().includes('tokens create --role operator'))
    const out = first.output()
    const tokens = [...out.matchAll(tokenPattern)].map((m) => m[1])
    expect(tokens, out).toHaveLength(1)
    expect(out.match(/first start, 首次启动/g)).toHaveLength(1)
    expect(out).toContain(`${first.url}/console`)
    expect(out).toContain(`${first.url}/docs`)
    expect(out).toContain('npm run -s tongban -- tokens create')
    // Plain text, not a JSON log line.
    expect(out.split('\n').some((l) => l.startsWith('{') && l.includes('tbp_'))).toBe(false)

    const token = tokens[0] as string
    // It is an admin's: it issues the first security administrator's token (the bootstrap), who lists them.
    const issued = await fetch(`${first.url}/v1/admin/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'security', name: '安全管理员' }),
    })
    const security = (await issued.json()) as { token: string }
    expect(issued.status, JSON.stringify(security)).toBe(201)
    const listed = await fetch(`${first.url}/v1/admin/tokens`, {
      headers: { authorization: `Bearer ${security.token}` },
    })
    const body = (await listed.json()) as { tokens: { role: string }[] }
    expect(listed.status, JSON.stringify(body)).toBe(200)
    expect(body.tokens.map((t) => t.role)).toEqual(['admin', 'security'])
    // And it signs in to the console, through its sign-in form, over the real socket.
    const remote = {
      app: { request: (p: string, init?: RequestInit) => fetch(`${first.url}${p}`, { ...init, redirect: 'manual' }) },
    } as unknown as TestApp
    const browser = await consoleSignIn(remote, token)
    // An admin's console opens on the control room.
    const start = await browser.get('/console')
    const home = start.status === 303 ? await browser.get(start.headers.get('location') ?? '') : start
    expect(home.status).toBe(200)
    expect(await home.text()).toContain('通办网关')
    // A healthy run, from start to a clean stop (its whole output read), warns of nothing but the keys it generated.
    expect(await first.stop()).toBe(0)
    const warnings = first
      .output()
      .split('\n')
      .filter((l) => /"level":(40|50)/.test(l) && !l.includes('generated a new'))
    expect(warnings).toEqual([])

    // The second start hands no token over: its whole output, up to a clean stop, holds none.
    const second = await startGateway(env, 120_000)
    expect(await second.stop()).toBe(0)
    expect(second.output()).toContain('"msg":"gateway listening"')
    expect(second.output()).not.toContain('首次启动')
    expect([...second.output().matchAll(tokenPattern)]).toHaveLength(0)
  }, 300_000)
})
