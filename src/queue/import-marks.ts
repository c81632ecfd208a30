/**
 * Once, on upgrade: the forwarded marks an earlier version kept in Redis (`<prefix>:forwarded:<caseId>:<direction>`
 * sets) are copied into PostgreSQL (`event_forwards`) and deleted from Redis. Without them an event whose
 * predecessor was forwarded before the upgrade would wait for a mark that is not there. Idempotent: a mark
 * already in PostgreSQL stays as it is, and a second start finds no keys.
 */
import type { EventForwardStore, ForwardDirection } from '../ports/event-forward-store.js'
import { type RedisClient, scanKeys } from './redis.js'

/** Copies the Redis marks into the store; returns how many marks were copied. */
export async function importRedisMarks(
  redis: RedisClient,
  prefix: string,
  forwards: EventForwardStore,
  now: Date,
): Promise<number> {
  const head = `${prefix}:forwarded:`
  let copied = 0
  await scanKeys(redis, `${head}*`, async (keys) => {
    for (const key of keys) {
      const rest = key.slice(head.length)
      const at = rest.lastIndexOf(':')
      const caseId = rest.slice(0, at)
      const direction = rest.slice(at + 1)
      if (at <= 0 || (direction !== 'to_processing' && direction !== 'to_origin')) continue
      for (const member of await redis.smembers(key)) {
        const seq = Number(member)
        if (!Number.isInteger(seq) || seq <= 0) continue
        await forwards.markForwarded(caseId, seq, direction as ForwardDirection, now)
        copied++
      }
      await redis.del(key)
    }
  })
  return copied
}
