/**
 * The README's path on the embedded default, with real processes: the gateway owns its data directory,
 * CLI verbs run while it runs and take effect at once (through its socket), a second gateway on the same
 * directory refuses, and everything still holds after a restart.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { lockFileOf } from '../../src/store/embedded-lock.js'
import { newClientKey, signAssertion } from '../helpers/client-assertion.js'
import { type Gateway, runCli, startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const prefix = testQueuePrefix()
let dataDir = ''
afterAll(async () => {
  await stopAllGateways()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  await cleanQueuePrefix(prefix)
})

// A fresh embedded database's first start (initdb inside PGlite) is slow on a busy machine.
const START_MS = 90_000

const resolveBody = JSON.stringify({
  item: 'hukou-certificate',
  originRegion: '420303',
  processingRegion: '420600',
  mode: 'full_online',
})

/** Starts `tongban serve` and waits until it is ready (Redis connects just after the listener opens). */
async function startReady(env: Record<string, string>): Promise<Gateway> {
  const gw = await startGateway(env, START_MS)
  await waitFor('the gateway to be ready', async () => (await fetch(`${gw.url}/readyz`)).status === 200, 30_000)
  return gw
}

async function resolveWith(url: string, bearer: string | (() => Promise<string>)): Promise<number> {
  const res = await fetch(`${url}/v1/routes/resolve`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${typeof bearer === 'string' ? bearer : await bearer()}`,
    },
    body: resolveBody,
  })
  await res.arrayBuffer()
  return res.status
}

describe('the embedded database with a running gateway', () => {
  it('CLI verbs reach the running gateway, a second gateway refuses, and a restart keeps everything', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-emb-'))
    const env = { TONGBAN_DATA_DIR: dataDir, DATABASE_URL: '', QUEUE_PREFIX: prefix, GATEWAY_ID: 'gw-420300' }
    const gw = await startReady(env)

    const lock = JSON.parse(await readFile(lockFileOf(dataDir), 'utf8'))
    expect(lock).toMatchObject({ pid: gw.child.pid, role: 'gateway' })

    // README: TOKEN=$(npm run -s tongban -- tokens create …) while the gateway runs; the token works at once.
    const created = await runCli(
      ['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'ZW-01', '--name', '李窗口'],
      env,
    )
    expect(created.code, created.stderr).toBe(0)
    const token = created.stdout.trim()
    expect(await resolveWith(gw.url, token)).toBe(200)

    // A system client registered from the CLI authenticates on its next request.
    const key = await newClientKey()
    const jwksFile = path.join(dataDir, 'client-jwks.json')
    await writeFile(jwksFile, JSON.stringify(key.jwks))
    const added = await runCli(['clients', 'add', '--id', 'sys-420303', '--regions', '420303', '--jwks', jwksFile], env)
    expect(added.code, added.stderr).toBe(0)
    const assertion = () =>
      signAssertion({
        clientId: 'sys-420303',
        key,
        audience: 'gw-420300',
        method: 'POST',
        pathAndQuery: '/v1/routes/resolve',
        body: resolveBody,
      })
    expect(await resolveWith(gw.url, assertion)).toBe(200)

    // The gateway's writes are visible to the CLI too.
    const listed = await runCli(['tokens', 'list'], env)
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain('李窗口')

    // A second gateway on the same directory refuses with one line naming the directory and the holder.
    const second = await runCli(['serve'], { ...env, PORT: '0', HOST: '127.0.0.1' })
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`the embedded database in ${dataDir} is in use by process ${gw.child.pid}`)
    expect(await resolveWith(gw.url, token)).toBe(200)

    expect(await gw.stop('SIGTERM')).toBe(0)
    await expect(readFile(lockFileOf(dataDir), 'utf8')).rejects.toThrow(/ENOENT/)

    // Stopped: the CLI opens the directory itself; then a new gateway sees everything.
    const offline = await runCli(['tokens', 'list'], env)
    expect(offline.code, offline.stderr).toBe(0)
    expect(offline.stdout).toContain('李窗口')
    const again = await startReady(env)
    expect(await resolveWith(again.url, token)).toBe(200)
    expect(await resolveWith(again.url, assertion)).toBe(200)
    expect(await again.stop('SIGTERM')).toBe(0)
  }, 240_000)

  it('a lock left by a killed gateway is stale: the next gateway takes the directory over', async () => {
    expect(dataDir, 'the first test made the directory').not.toBe('')
    const env = { TONGBAN_DATA_DIR: dataDir, DATABASE_URL: '', QUEUE_PREFIX: prefix, QUEUE_CONCURRENCY: '0' }
    const first = await startGateway(env, START_MS)
    await first.stop('SIGKILL')
    expect(JSON.parse(await readFile(lockFileOf(dataDir), 'utf8')).pid).toBe(first.child.pid)
    const next = await startReady(env)
    expect(JSON.parse(await readFile(lockFileOf(dataDir), 'utf8')).pid).toBe(next.child.pid)
    expect(await next.stop('SIGTERM')).toBe(0)
  }, 200_000)
})
