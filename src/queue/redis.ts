/**
 * The one factory of the gateway's Redis clients: the shared fail-fast client, the queue producer's, the
 * workers' and schedules' blocking clients and the queue probes all come from `connectRedis`, for a single
 * server (REDIS_URL), a primary behind Sentinel (REDIS_SENTINELS) or a Redis Cluster (REDIS_CLUSTER_NODES).
 * Keys that one command or transaction touches together must share a slot on a Cluster: BullMQ's under a
 * hash-tagged prefix (`config.redis.jobPrefix`), the circuit's under a tagged region (circuit.ts).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../../config/env.js'

/** A client of any topology; both speak the same commands. */
export type RedisClient = Redis | Cluster

export interface RedisClientOptions {
  /** CLIENT SETNAME of each connection, e.g. `tongban-producer` (the workers' count reads it). */
  name: string
  /**
   * `fail-fast` (default): a command while Redis is away fails at once (no offline queue, one retry), for
   * requests and enqueues that have somewhere else to go. `blocking`: commands wait for Redis, as BullMQ's
   * workers and schedulers need (`maxRetriesPerRequest: null`).
   */
  mode?: 'fail-fast' | 'blocking'
  /** Concurrent commands leave in one write (the shared client: a jti claim per request). */
  autoPipelining?: boolean
  /** Connect on the first command or `connect()` (tools and tests). */
  lazyConnect?: boolean
}

/**
 * A new client for `target`. On Sentinel it asks the sentinels for the primary, and again whenever the
 * connection breaks or it finds itself on a demoted replica (READONLY); on a Cluster it
 * discovers the other nodes from those given and follows slot moves.
 *
 * @example const redis = connectRedis(config.redis.target, { name: 'tongban-gateway', autoPipelining: true })
 */
export function connectRedis(target: RedisTarget, opts: RedisClientOptions): RedisClient {
  const perCommand: RedisOptions =
    opts.mode === 'blocking' ? { maxRetriesPerRequest: null } : { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
  const common: RedisOptions = {
    connectionName: opts.name,
    ...(opts.lazyConnect ? { lazyConnect: true } : {}),
    ...(opts.autoPipelining ? { enableAutoPipelining: true } : {}),
  }
  switch (target.kind) {
    case 'url':
      return new Redis(target.url, { ...common, ...perCommand })
    case 'sentinel':
      return new Redis({
        ...common,
        ...perCommand,
        sentinels: target.sentinels,
        name: target.name,
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
        // No `failoverDetector`: its subscriptions to the sentinels outlive a `quit()` and reconnect forever, and
        // its disconnect, landing while a client still asks a sentinel for the primary, ends that client for
        // good ("Connection is closed."; test/chaos `instances-failover` saw it).
        // A killed primary breaks the connection, and a demoted one closes its clients or answers READONLY:
        // either way the client asks the sentinels again.
        // A primary demoted while this client stayed connected answers writes with READONLY: find the new one.
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
      })
    case 'cluster': {
      const { enableOfflineQueue, ...redisPerCommand } = perCommand
      return new Cluster(target.nodes, {
        ...(enableOfflineQueue === false ? { enableOfflineQueue: false } : {}),
        ...(opts.lazyConnect ? { lazyConnect: true } : {}),
        ...(opts.autoPipelining ? { enableAutoPipelining: true } : {}),
        redisOptions: {
          connectionName: opts.name,
          ...redisPerCommand,
          ...(target.username !== undefined ? { username: target.username } : {}),
          ...(target.password !== undefined ? { password: target.password } : {}),
        },
      })
    }
  }
}

/** A `redis://…` URL (tools and tests) as a target; a target as it is. */
export function targetOf(target: RedisTarget | string): RedisTarget {
  return typeof target === 'string' ? { kind: 'url', url: target } : target
}

/** Where `target` is, for log lines and outage reports (never a password). */
export function describeRedis(target: RedisTarget): string {
  const list = (nodes: { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',')
  switch (target.kind) {
    case 'url':
      try {
        const u = new URL(target.url)
        return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`
      } catch {
        return '(unparsable URL)'
      }
    case 'sentinel':
      return `sentinel ${target.name}@${list(target.sentinels)}`
    case 'cluster':
      return `cluster ${list(target.nodes)}`
  }
}

/**
 * Every key matching `pattern` (SCAN), on every primary of a Cluster. Each page is handed to `page` as it
 * comes; keys may repeat, as with SCAN.
 */
export async function scanKeys(
  redis: RedisClient,
  pattern: string,
  page: (keys: string[]) => Promise<void> | void,
  count = 500,
): Promise<void> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis]
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count)
      cursor = next
      if (keys.length > 0) await page(keys)
    } while (cursor !== '0')
  }
}
