import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../config/env.js'

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({})
    expect(c.http.port).toBe(8080)
    expect(c.database.url).toBeUndefined()
    expect(c.redis).toEqual({
      target: { kind: 'url', url: 'redis://127.0.0.1:6379' },
      queuePrefix: 'tongban',
      jobPrefix: 'tongban',
      workerLockMs: 30_000,
      concurrency: 8,
      dispatchConcurrency: 32,
      sweepIntervalMs: 60_000,
      sweepStaleMs: 120_000,
      configured: false,
      private: 'auto',
      outageReminderMs: 60_000,
    })
    expect(c.http.workerHealthPort).toBe(8081)
    expect(c.dataDir.endsWith('/data')).toBe(true)
    expect(c.logLevel).toBe('info')
    expect(c.logFormat).toBe('auto')
    expect(Object.isFrozen(c.http)).toBe(true)
  })

  it('tells a set REDIS_URL from the default (a private Redis is only ever used with it unset)', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis.configured).toBe(true)
    expect(loadConfig({ REDIS_URL: '' }).redis).toMatchObject({
      target: { kind: 'url', url: 'redis://127.0.0.1:6379' },
      configured: false,
    })
  })

  it('reads a Sentinel set: the sentinels, the primary they watch, the passwords', () => {
    const c = loadConfig({
      REDIS_SENTINELS: ' 10.0.0.1:26379, sentinel-b.local:26380,[::1]:26381 ',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_PASSWORD: 'data-secret',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    })
    expect(c.redis).toMatchObject({
      configured: true,
      jobPrefix: 'tongban',
      target: {
        kind: 'sentinel',
        name: 'mymaster',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: 'sentinel-b.local', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        password: 'data-secret',
        sentinelPassword: 'sentinel-secret',
      },
    })
  })

  it('reads a Redis Cluster, and hash-tags the BullMQ prefix so that each queue stays in one slot', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', QUEUE_PREFIX: 'gw-a' })
    expect(c.redis).toMatchObject({
      configured: true,
      queuePrefix: 'gw-a',
      jobPrefix: '{gw-a}',
      target: {
        kind: 'cluster',
        nodes: [
          { host: '127.0.0.1', port: 7000 },
          { host: '127.0.0.1', port: 7001 },
        ],
      },
    })
  })

  it.each([
    [{ REDIS_URL: 'redis://h:6379', REDIS_SENTINELS: 'h:26379', REDIS_SENTINEL_NAME: 'm' }, 'set only one of'],
    [{ REDIS_SENTINELS: 'h:26379', REDIS_CLUSTER_NODES: 'h:7000' }, 'set only one of'],
    [{ REDIS_SENTINELS: 'h:26379' }, 'REDIS_SENTINEL_NAME: needed with REDIS_SENTINELS'],
    [{ REDIS_SENTINEL_NAME: 'mymaster' }, 'REDIS_SENTINEL_NAME: only with REDIS_SENTINELS'],
    [{ REDIS_SENTINEL_PASSWORD: 'x' }, 'REDIS_SENTINEL_PASSWORD: only with REDIS_SENTINELS'],
    [{ REDIS_URL: 'redis://h:6379', REDIS_PASSWORD: 'x' }, 'REDIS_PASSWORD: only with REDIS_SENTINELS or'],
    [{ REDIS_SENTINELS: 'h', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS: comma-separated host:port'],
    [{ REDIS_CLUSTER_NODES: 'h:7000,h:70000' }, 'REDIS_CLUSTER_NODES: comma-separated host:port'],
    [{ REDIS_CLUSTER_NODES: 'redis://h:7000' }, 'REDIS_CLUSTER_NODES: comma-separated host:port'],
  ])('refuses the Redis settings %j, saying what to do', (env, expected) => {
    expect(() => loadConfig(env)).toThrow(expected)
  })

  it('never puts a Redis password in a configuration error', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://h:6379', REDIS_PASSWORD: 'hunter2-secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    )
  })

  it('treats an empty DATABASE_URL as unset (embedded database)', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.url).toBeUndefined()
    expect(loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' }).database.url).toBe(
      'postgres://postgres@127.0.0.1:5432/x',
    )
  })

  it('migrates through DATABASE_MIGRATION_URL, which defaults to DATABASE_URL (one role)', () => {
    const runtime = 'postgres://tongban_app:s@127.0.0.1:5432/x'
    expect(loadConfig({ DATABASE_URL: runtime }).database.migrationUrl).toBe(runtime)
    const owner = 'postgres://owner:o@127.0.0.1:5432/x'
    expect(loadConfig({ DATABASE_URL: runtime, DATABASE_MIGRATION_URL: owner }).database).toMatchObject({
      url: runtime,
      migrationUrl: owner,
    })
  })

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: must be a postgres:// URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL: must be a redis://'],
    [{ DATABASE_MIGRATION_URL: 'postgres://owner@h/x' }, 'DATABASE_MIGRATION_URL: needs DATABASE_URL too'],
    [{ DATABASE_URL: 'postgres://a@h/x', DATABASE_MIGRATION_URL: 'mysql://x' }, 'DATABASE_MIGRATION_URL: must be'],
    [{ QUEUE_PREFIX: 'a b' }, 'QUEUE_PREFIX'],
    [{ GATEWAY_ID: 'GW 1' }, 'GATEWAY_ID'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ WORKER_HEALTH_PORT: '-1' }, 'WORKER_HEALTH_PORT'],
    [{ OUTAGE_REMINDER_MS: '10' }, 'OUTAGE_REMINDER_MS'],
  ])('refuses %j naming the variable', (env, expected) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(expected)
  })

  it('reads the cryptographic profile: HASH_ALG, PII_CIPHER and the replaced identity keys', () => {
    expect(loadConfig({}).hashAlg).toBe('sha256')
    expect(loadConfig({}).identityKey).toMatchObject({ cipher: 'aes-256-gcm', previous: [] })
    const c = loadConfig({ HASH_ALG: 'sm3', PII_CIPHER: 'sm4-gcm', IDENTITY_KEY_PREVIOUS: ' a2V5MQ== , a2V5Mg==,' })
    expect(c.hashAlg).toBe('sm3')
    expect(c.identityKey).toMatchObject({ cipher: 'sm4-gcm', previous: ['a2V5MQ==', 'a2V5Mg=='] })
    expect(() => loadConfig({ HASH_ALG: 'md5' })).toThrow(/HASH_ALG/)
    expect(() => loadConfig({ PII_CIPHER: 'sm4-cbc' })).toThrow(/PII_CIPHER/)
  })

  it('lists every invalid variable at once', () => {
    try {
      loadConfig({ PORT: '-1', LOG_LEVEL: 'x' })
      expect.unreachable()
    } catch (e) {
      expect((e as Error).message).toContain('PORT')
      expect((e as Error).message).toContain('LOG_LEVEL')
    }
  })
})
