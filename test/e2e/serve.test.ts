import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { scratchDatabase } from '../helpers/db.js'
import { type Gateway, runCli, startGateway, stopAllGateways } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await stopAllGateways()
  for (const c of cleanups.reverse()) await c()
})

async function tempDir() {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-e2e-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function freshDatabase(): Promise<string> {
  const db = await scratchDatabase('e2e')
  cleanups.push(() => db.drop())
  return db.url
}

async function adminToken(env: Record<string, string>): Promise<string> {
  const res = await runCli(['tokens', 'create', '--role', 'admin', '--name', 'e2e'], env)
  expect(res.code, res.stderr).toBe(0)
  expect(res.stderr).toContain('shown once')
  return res.stdout.trim()
}

async function exercise(gw: Gateway, token: string) {
  const health = await fetch(`${gw.url}/healthz`)
  expect(health.status).toBe(200)
  // Like a load balancer: ready once PostgreSQL and Redis answer (Redis connects just after the listener opens).
  const readyz = () => fetch(`${gw.url}/readyz`)
  await waitFor('ready', async () => (await readyz()).status === 200, 30_000).catch(() => undefined)
  const ready = await readyz()
  expect(ready.status, await ready.text()).toBe(200)
  const anonymous = await fetch(`${gw.url}/v1/regions`)
  expect(anonymous.status).toBe(401)
  const res = await fetch(`${gw.url}/v1/routes/resolve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      item: 'hukou-certificate',
      originRegion: '420303',
      processingRegion: '420600',
      mode: 'full_online',
    }),
  })
  expect(res.status).toBe(200)
  expect(await res.json()).toMatchObject({ scope: 'cross_city', agreement: { id: 'xiang-shi-sui-shen' } })
}

describe('tongban serve, as a process', () => {
  it('starts on the embedded database with nothing but Redis, seeds on first start, stops on SIGTERM', async () => {
    const dataDir = await tempDir()
    const env = { TONGBAN_DATA_DIR: dataDir, DATABASE_URL: '' }
    const gw = await startGateway(env)
    expect(gw.output()).toContain('generated a new ES256 signing key')
    await gw.stop()
    const token = await adminToken(env)
    const again0 = await startGateway(env)
    await exercise(again0, token)
    expect(await again0.stop('SIGTERM')).toBe(0)
    expect(gw.output()).toContain('directory seeded from the configuration (first start)')
    expect(gw.output()).toContain('"msg":"stopped"')
    // Later starts: same data directory, no second seeding, the same key.
    expect(again0.output()).not.toContain('first start')
    expect(again0.output()).not.toContain('generated a new')
  }, 180_000)

  it('starts on PostgreSQL; migrate and seed are idempotent from the CLI', async () => {
    const url = await freshDatabase()
    const env = { DATABASE_URL: url, TONGBAN_DATA_DIR: await tempDir() }
    const m1 = await runCli(['migrate'], env)
    expect(m1.code, m1.stderr).toBe(0)
    expect(m1.stdout).toContain('applied: 0001-directory')
    const m2 = await runCli(['migrate'], env)
    expect(m2.stdout).toContain('nothing to apply')
    const s = await runCli(['seed'], env)
    expect(s.code, s.stderr).toBe(0)
    const s2 = await runCli(['seed'], env)
    expect(s2.stdout).toContain('agreement versions inserted 0')
    const gw = await startGateway(env)
    await exercise(gw, await adminToken(env))
    expect(await gw.stop()).toBe(0)
  }, 180_000)

  it('exits non-zero with a readable message for a bad environment', async () => {
    const res = await runCli(['serve'], { PORT: 'eighty' })
    expect(res.code).toBe(1)
    expect(res.stderr).toContain('PORT')
  }, 120_000)

  it('config check exits 0 on the shipped configuration and 1 listing errors on a broken one', async () => {
    const ok = await runCli(['config', 'check'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/ok \(\d+ regions, \d+ items/)
    const missing = await runCli(['config', 'check', await tempDir()])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('regions/admin-divisions.csv: file missing')
    // Two CLI processes (tsx compiles on start): minutes on a loaded two-core machine, not the default 30 s.
  }, 120_000)
})
