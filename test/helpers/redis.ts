/**
 * Isolation of BullMQ state in integration tests: each test file uses its own random key prefix on the
 * local Redis (`TEST_REDIS_URL`, default redis://127.0.0.1:6379) and deletes its keys afterwards.
 *
 * The gateways a test starts take their Redis from `testRedisEnv()`: REDIS_URL, or, when the test run is
 * given one, a Sentinel set (`TEST_REDIS_SENTINELS` and `TEST_REDIS_SENTINEL_NAME`) or a Redis Cluster
 * (`TEST_REDIS_CLUSTER_NODES`), so that a suite runs unchanged against each (docs/testing.md; the
 * topologies come from test/helpers/redis-ha.ts).
 */
import { randomBytes } from 'node:crypto'
import { loadConfig, type RedisTarget } from '../../config/env.js'
import { connectRedis, scanKeys } from '../../src/queue/redis.js'

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * The Redis settings of the gateways under test (one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES),
 * read from the environment at each call (test/e2e/redis-ha.test.ts sets it for a topology of its own).
 */
export function testRedisEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.TEST_REDIS_SENTINELS) {
    return {
      REDIS_SENTINELS: env.TEST_REDIS_SENTINELS,
      REDIS_SENTINEL_NAME: env.TEST_REDIS_SENTINEL_NAME ?? 'mymaster',
    }
  }
  if (env.TEST_REDIS_CLUSTER_NODES) return { REDIS_CLUSTER_NODES: env.TEST_REDIS_CLUSTER_NODES }
  return { REDIS_URL: testRedisUrl }
}

/** Where `testRedisEnv` points. */
function testRedisTarget(): RedisTarget {
  return loadConfig(testRedisEnv()).redis.target
}

/** A fresh prefix `tbtest-<random>` for BullMQ keys. */
export function testQueuePrefix(): string {
  return `tbtest-${randomBytes(6).toString('hex')}`
}

/**
 * Deletes every key under `prefix:` and `{prefix}:` (BullMQ's on a Cluster), on every primary (SCAN +
 * UNLINK, one key at a time: a Cluster refuses keys of several slots in one command); returns how many.
 */
export async function cleanQueuePrefix(prefix: string, target: RedisTarget = testRedisTarget()): Promise<number> {
  if (!/^tbtest-[0-9a-f]+$/.test(prefix)) throw new Error(`Refusing to clean a non-test prefix: ${prefix}`)
  const redis = connectRedis(target, { name: 'tongban-test-clean', lazyConnect: true })
  redis.on('error', () => {})
  await redis.connect()
  let removed = 0
  try {
    for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
      await scanKeys(redis, pattern, async (keys) => {
        const counts = await Promise.all(keys.map((k) => redis.unlink(k)))
        removed += counts.reduce((a, b) => a + b, 0)
      })
    }
  } finally {
    await redis.quit()
  }
  return removed
}
