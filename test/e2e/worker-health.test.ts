import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { scratchDatabase } from '../helpers/db.js'
import { repoRoot, startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<unknown>)[] = []
let worker: ChildProcess | undefined
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker?.once('exit', r))
    worker.kill('SIGKILL')
    await exited
  }
  await stopAllGateways()
  for (const c of cleanups.reverse()) await c()
})

type Readiness = {
  status: string
  checks: Record<string, { ok: boolean; detail?: string; error?: string; advisory?: boolean }>
}

async function readyz(url: string): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${url}/readyz`)
  return { status: res.status, body: (await res.json()) as Readiness }
}

describe('health of every process', () => {
  it('`tongban worker` answers /healthz and /readyz on its port; an API-only /readyz reports the consumers', async () => {
    const db = await scratchDatabase('health')
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-health-'))
    const prefix = testQueuePrefix()
    cleanups.push(
      () => db.drop(),
      () => rm(dataDir, { recursive: true, force: true }),
      () => cleanQueuePrefix(prefix),
    )
    const env = { DATABASE_URL: db.url, TONGBAN_DATA_DIR: dataDir, QUEUE_PREFIX: prefix, REDIS_URL: testRedisUrl }

    const api = await startGateway({ ...env, QUEUE_CONCURRENCY: '0' }, 120_000)
    const alone = await waitFor('the API-only readiness', async () => {
      const r = await readyz(api.url)
      return r.body.checks.redis?.ok && r
    })
    // Ready (intake works without consumers), and says that nobody consumes.
    expect(alone.status, JSON.stringify(alone.body)).toBe(200)
    expect(alone.body.checks.consumers).toMatchObject({ ok: false, advisory: true })
    expect(alone.body.checks.consumers?.error).toContain('case.dispatch: 0')
    expect(alone.body.checks.workers).toBeUndefined()

    worker = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli.ts'), 'worker'], {
      cwd: repoRoot,
      env: { ...process.env, ...env, HOST: '127.0.0.1', WORKER_HEALTH_PORT: '0', LOG_LEVEL: 'info' },
    })
    let out = ''
    worker.stdout?.on('data', (d) => {
      out += d
    })
    worker.stderr?.on('data', (d) => {
      out += d
    })
    const port = await waitFor('the worker listening', async () => /"healthPort":(\d+)/.exec(out)?.[1], 120_000)
    const url = `http://127.0.0.1:${port}`
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', gateway: 'gw-local' })
    const ready = await waitFor('the worker ready', async () => {
      const r = await readyz(url)
      return r.status === 200 && r
    })
    expect(Object.keys(ready.body.checks).sort()).toEqual(['database', 'redis', 'workers'])
    expect(ready.body.checks.workers?.detail).toContain('case.dispatch consuming')
    expect((await fetch(`${url}/v1/regions`)).status).toBe(404)

    const consumed = await waitFor('the consumers seen from the API', async () => {
      const r = await readyz(api.url)
      return r.body.checks.consumers?.ok && r
    })
    expect(consumed.body.checks.consumers?.detail).toMatch(/case\.dispatch: [1-9]/)
    expect(consumed.body.checks.consumers?.detail).toMatch(/case\.event: [1-9]/)

    const exited = new Promise<number | null>((r) => worker?.once('exit', (code) => r(code)))
    worker.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(await api.stop()).toBe(0)
  }, 300_000)
})
