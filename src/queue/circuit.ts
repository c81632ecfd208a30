/** The `CircuitBreaker` port kept in Redis, so that every worker process shares each circuit. */
import type { Redis } from 'ioredis'
import type { CircuitBreaker, CircuitDecision, CircuitState } from '../ports/circuit-breaker.js'
import type { CircuitSettings } from '../ports/region-adapter.js'

export class RedisCircuitBreaker implements CircuitBreaker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(region: string) {
    return `${this.prefix}:circuit:${region}`
  }

  async check(region: string, settings: CircuitSettings): Promise<CircuitDecision> {
    const [until, failures] = await this.redis.hmget(this.key(region), 'openUntil', 'failures')
    const openUntil = Number(until ?? 0)
    // No failure counted: the delivery's success need not reset anything (one Redis call less per delivery).
    if (!openUntil) return { allow: true, probe: false, clean: !Number(failures ?? 0) }
    const now = this.now()
    if (now < openUntil) return { allow: false, retryAt: openUntil }
    // Half-open: one probe at a time; the others wait as long as a probe may take.
    const probeMs = settings.openSeconds * 1000
    const got = await this.redis.set(`${this.key(region)}:probe`, String(now), 'PX', probeMs, 'NX')
    return got === 'OK' ? { allow: true, probe: true } : { allow: false, retryAt: now + Math.min(probeMs, 5_000) }
  }

  async success(region: string): Promise<void> {
    await this.redis.del(this.key(region), `${this.key(region)}:probe`)
  }

  async releaseProbe(region: string): Promise<void> {
    await this.redis.del(`${this.key(region)}:probe`)
  }

  async failure(region: string, settings: CircuitSettings, probe: boolean): Promise<boolean> {
    const key = this.key(region)
    const failures = await this.redis.hincrby(key, 'failures', 1)
    if (!probe && failures < settings.failureThreshold) return false
    const until = this.now() + settings.openSeconds * 1000
    await this.redis.multi().hset(key, 'openUntil', String(until)).del(`${key}:probe`).exec()
    return true
  }

  async state(region: string): Promise<{ state: CircuitState; failures: number; openUntil: number | null }> {
    const [failures, openUntil] = await this.redis.hmget(this.key(region), 'failures', 'openUntil')
    const until = Number(openUntil ?? 0)
    const state: CircuitState = !until ? 'closed' : this.now() < until ? 'open' : 'half_open'
    return { state, failures: Number(failures ?? 0), openUntil: until || null }
  }
}
