/**
 * The figures of the last alert check in Redis (`<prefix>:alerts`, a hash of kind → count), shared by
 * every process of the gateway: the check runs in one process per interval (the `alerts` schedule), every
 * process's `/metrics` reports its figures, and a change is logged once.
 */

import type { AlertState } from '../ports/alert-state.js'
import type { RedisClient } from './redis.js'

export function redisAlertState(redis: RedisClient, prefix: string): AlertState {
  const key = `${prefix}:alerts`
  return {
    async read() {
      const stored = await redis.hgetall(key)
      const figures: Record<string, number> = {}
      for (const [kind, count] of Object.entries(stored)) figures[kind] = Number(count)
      return figures
    },
    async write(figures) {
      await redis.hset(key, figures)
    },
  }
}
