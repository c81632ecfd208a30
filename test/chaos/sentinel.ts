/**
 * The fault suite's Redis Sentinel set: test/helpers/redis-ha.ts's (a primary, a replica, three sentinels,
 * quorum two) on a block of free ports, seen as a `RedisSet` whose primary `failover()` kills.
 */
import { Redis } from 'ioredis'
import { startSentinelSet } from '../helpers/redis-ha.js'
import { freeBlock, type RedisSet } from './infra.js'

/** A Redis set whose primary can be taken away mid-stream (a replica takes over). */
export interface FailoverRedisSet extends RedisSet {
  /** Kills the primary with SIGKILL and resolves once a replica serves as the new one. */
  failover(): Promise<void>
}

/** Starts the set (ports base … base + 12: redis-ha.ts's layout); `stop()` ends it. */
export async function startOwnSentinelSet(): Promise<FailoverRedisSet & { stop(): Promise<void> }> {
  const set = await startSentinelSet(await freeBlock(13), 'tongban')
  const sentinels = (set.env.REDIS_SENTINELS as string).split(',').map((hp) => {
    const [host, port] = hp.split(':')
    return { host: host as string, port: Number(port) }
  })
  return {
    env: () => set.env,
    client() {
      const c = new Redis({ sentinels, name: set.name, maxRetriesPerRequest: 3 })
      c.on('error', () => {})
      return c
    },
    async failover() {
      await set.killPrimary()
    },
    stop: () => set.stop(),
  }
}
