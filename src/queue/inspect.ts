/**
 * Read-only views of the queues and circuits for `/metrics` and the alerts: job counts and the age of
 * the oldest waiting job per queue, and the circuit of every region that has one.
 */
import { Queue } from 'bullmq'
import type { RedisTarget } from '../../config/env.js'
import type { CircuitState } from '../ports/circuit-breaker.js'
import type { QueueDepth as PortQueueDepth } from '../ports/queue-depths.js'
import { type JobName, jobs, queueNameOf } from './catalog.js'
import type { RedisCircuitBreaker } from './circuit.js'
import { connectRedis, type RedisClient } from './redis.js'

export interface QueueDepth extends PortQueueDepth {
  queue: JobName
}

export class QueueInspector {
  private readonly queues: Queue[]
  private readonly connection: RedisClient

  /**
   * @param target where Redis is; the queues' counts use a fail-fast client of their own.
   * @param prefix BullMQ's (`config.redis.jobPrefix`: hash-tagged on a Cluster).
   */
  constructor(
    target: RedisTarget,
    prefix: string,
    private readonly circuit: RedisCircuitBreaker,
  ) {
    this.connection = connectRedis(target, { name: 'tongban-inspector' })
    this.connection.on('error', () => {})
    this.queues = (Object.keys(jobs) as JobName[]).map((name) => {
      const q = new Queue(queueNameOf(name), { connection: this.connection, prefix })
      q.on('error', () => {})
      return q
    })
  }

  async depths(nowMs = Date.now()): Promise<QueueDepth[]> {
    return Promise.all(
      this.queues.map(async (q) => {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized')
        const [oldest] = await q.getJobs(['waiting'], 0, 0, true)
        return {
          queue: q.name as JobName,
          counts: {
            waiting: c.waiting ?? 0,
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            failed: c.failed ?? 0,
            completed: c.completed ?? 0,
            prioritized: c.prioritized ?? 0,
          },
          oldestWaitingSeconds: oldest ? Math.max(0, (nowMs - oldest.timestamp) / 1000) : 0,
        }
      }),
    )
  }

  /**
   * How many BullMQ workers consume each queue now, from anywhere (Redis's CLIENT LIST of the workers'
   * named connections; a managed Redis that forbids CLIENT LIST makes this throw).
   */
  async consumers(): Promise<{ queue: JobName; workers: number }[]> {
    return Promise.all(
      this.queues.map(async (q) => ({ queue: q.name as JobName, workers: (await q.getWorkers()).length })),
    )
  }

  /** Every region with a circuit record in Redis (a region never failed has none: closed). */
  async circuits(): Promise<{ region: string; state: CircuitState; failures: number }[]> {
    const regions = await this.circuit.regions()
    return Promise.all(regions.map(async (region) => ({ region, ...(await this.circuit.state(region)) })))
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.queues.map((q) => q.close()))
    this.connection.disconnect()
  }
}
