/**
 * Isolation of BullMQ state in integration tests: each test file uses its own random key prefix on the
 * local Redis (`TEST_REDIS_URL`, default redis://127.0.0.1:6379) and deletes its keys afterwards.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A fresh prefix `tbtest-<random>` for BullMQ keys. */
export function testQueuePrefix(): string {
  return `tbtest-${randomBytes(6).toString('hex')}`
}

/** Deletes every key under `prefix:` (SCAN + UNLINK); returns how many. */
export async function cleanQueuePrefix(prefix: string): Promise<number> {
  if (!/^tbtest-[0-9a-f]+$/.test(prefix)) throw new Error(`Refusing to clean a non-test prefix: ${prefix}`)
  const redis = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  let removed = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) removed += await redis.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    await redis.quit()
  }
  return removed
}
