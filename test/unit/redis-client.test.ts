import { Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'
import { connectRedis, describeRedis, targetOf } from '../../src/queue/redis.js'

const sentinel = loadConfig({
  REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379',
  REDIS_SENTINEL_NAME: 'mymaster',
  REDIS_PASSWORD: 'data-secret',
  REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
}).redis.target
const cluster = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000', REDIS_PASSWORD: 'data-secret' }).redis
  .target

/** Each client is made without connecting (lazyConnect) and dropped at once. */
function made<T extends Redis | Cluster>(client: T): T {
  client.disconnect()
  return client
}

describe('connectRedis: one factory for every topology', () => {
  it('a URL: a plain client; fail-fast by default, waiting for Redis in blocking mode (BullMQ workers)', () => {
    const failFast = made(connectRedis(targetOf('redis://127.0.0.1:1'), { name: 'a', lazyConnect: true }))
    expect(failFast).toBeInstanceOf(Redis)
    expect(failFast.options).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'a' })
    const blocking = made(
      connectRedis(targetOf('redis://127.0.0.1:1'), { name: 'w', mode: 'blocking', lazyConnect: true }),
    )
    expect(blocking.options).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true })
  })

  it('Sentinel: asks the sentinels for the primary, and again on READONLY', () => {
    const c = made(connectRedis(sentinel, { name: 'tongban-gateway', lazyConnect: true }))
    expect(c).toBeInstanceOf(Redis)
    expect(c.options).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      password: 'data-secret',
      sentinelPassword: 'sentinel-secret',
      enableOfflineQueue: false,
    })
    const reconnect = (c.options as { reconnectOnError: (err: Error) => boolean }).reconnectOnError
    expect(reconnect(new Error("READONLY You can't write against a read only replica."))).toBe(true)
    expect(reconnect(new Error('ERR unknown command'))).toBe(false)
  })

  it('Cluster: a cluster client whose node connections carry the name, password and retry policy', () => {
    const failFast = made(connectRedis(cluster, { name: 'tongban-producer', lazyConnect: true }))
    expect(failFast).toBeInstanceOf(Cluster)
    expect(failFast.options).toMatchObject({
      enableOfflineQueue: false,
      redisOptions: { connectionName: 'tongban-producer', maxRetriesPerRequest: 1, password: 'data-secret' },
    })
    const blocking = made(connectRedis(cluster, { name: 'w', mode: 'blocking', lazyConnect: true }))
    expect(blocking.options.enableOfflineQueue).toBe(true)
    expect((blocking.options as { redisOptions: object }).redisOptions).toMatchObject({ maxRetriesPerRequest: null })
  })

  it('describes where Redis is without a password', () => {
    expect(describeRedis(targetOf('redis://:hunter2@10.0.0.5:6380/0'))).toBe('10.0.0.5:6380')
    expect(describeRedis(sentinel)).toBe('sentinel mymaster@10.0.0.1:26379,10.0.0.2:26379')
    expect(describeRedis(cluster)).toBe('cluster 10.0.0.1:7000,10.0.0.2:7000')
    for (const t of [sentinel, cluster]) expect(describeRedis(t)).not.toContain('secret')
  })
})
