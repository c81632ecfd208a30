import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { type PrivateRedis, startPrivateRedis } from '../../src/startup/private-redis.js'
import { testRedisUrl } from '../helpers/redis.js'

const logger = createLogger('silent')
const started: PrivateRedis[] = []
const dirs: string[] = []
afterAll(async () => {
  for (const r of started) await r.stop()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function ping(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.ping()
  } catch (e) {
    return (e as Error).message
  } finally {
    client.disconnect()
  }
}

describe('the private redis-server', () => {
  it('is not started when a Redis answers on the default address', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-privredis-'))
    dirs.push(dir)
    expect(await startPrivateRedis({ probeUrl: testRedisUrl, dataDir: dir, logger })).toBeUndefined()
  })

  it('starts on loopback with appendonly in the data directory, is reused, and stops', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-privredis-'))
    dirs.push(dir)
    // A default address of this suite's port range where nothing listens.
    const own = await startPrivateRedis({ probeUrl: 'redis://127.0.0.1:16512', dataDir: dir, logger })
    expect(own).toBeDefined()
    started.push(own as PrivateRedis)
    const url = (own as PrivateRedis).url
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
    expect(await ping(url)).toBe('PONG')
    const client = new Redis(url)
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes'])
    expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1'])
    expect(await client.config('GET', 'dir')).toEqual(['dir', path.join(dir, 'redis')])
    await client.set('kept', '1')
    client.disconnect()
    expect((await readFile(path.join(dir, 'redis', 'port'), 'utf8')).trim()).toBe(new URL(url).port)

    // A second process (a worker beside serve) uses the running one and does not stop it.
    const beside = await startPrivateRedis({ probeUrl: 'redis://127.0.0.1:16512', dataDir: dir, logger })
    expect(beside?.url).toBe(url)
    await beside?.stop()
    expect(await ping(url)).toBe('PONG')

    await (own as PrivateRedis).stop()
    expect(await ping(url)).not.toBe('PONG')

    // The next start keeps the data (append-only file).
    const again = await startPrivateRedis({ probeUrl: 'redis://127.0.0.1:16512', dataDir: dir, logger })
    started.push(again as PrivateRedis)
    const reread = new Redis((again as PrivateRedis).url)
    expect(await reread.get('kept')).toBe('1')
    reread.disconnect()
  }, 60_000)
})
