/**
 * The `CircuitBreaker` port kept in Redis, so that every worker process shares each circuit: a hash
 * `<prefix>:circuit:<region>` (failures, openUntil) and a half-open probe claim `{<prefix>:circuit:<region>}:probe`,
 * whose hash tag is the hash's whole name, so that the two share a slot on a Redis Cluster (one DEL, one MULTI).
 */
import type { CircuitBreaker, CircuitDecision, CircuitState } from '../ports/circuit-breaker.js'
import type { CircuitSettings } from '../ports/region-adapter.js'
import { type RedisClient, scanKeys } from './redis.js'

export class RedisCircuitBreaker implements CircuitBreaker {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(region: string) {
    return `${this.prefix}:circuit:${region}`
  }

  private probeKey(region: string) {
    return `{${this.key(region)}}:probe`
  }

  /** Every region with a circuit record (a region never failed has none: closed). */
  async regions(): Promise<string[]> {
    const base = `${this.prefix}:circuit:`
    const regions = new Set<string>()
    await scanKeys(this.redis, `${base}*`, (keys) => {
      // (`…:probe`: the probe claims of an earlier version, before the hash tag.)
      for (const k of keys) if (!k.endsWith(':probe')) regions.add(k.slice(base.length))
    })
    return [...regions].sort()
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
    const got = await this.redis.set(this.probeKey(region), String(now), 'PX', probeMs, 'NX')
    return got === 'OK' ? { allow: true, probe: true } : { allow: false, retryAt: now + Math.min(probeMs, 5_000) }
  }

  async success(region: string): Promise<void> {
    await this.redis.del(this.key(region), this.probeKey(region))
  }

  async releaseProbe(region: string): Promise<void> {
    await this.redis.del(this.probeKey(region))
  }

  async failure(region: string, settings: CircuitSettings, probe: boolean): Promise<boolean> {
    const key = this.key(region)
    const failures = await this.redis.hincrby(key, 'failures', 1)
    if (!probe && failures < settings.failureThreshold) return false
    const until = this.now() + settings.openSeconds * 1000
    await this.redis.multi().hset(key, 'openUntil', String(until)).del(this.probeKey(region)).exec()
    return true
  }

  async state(region: string): Promise<{ state: CircuitState; failures: number; openUntil: number | null }> {
    const [failures, openUntil] = await this.redis.hmget(this.key(region), 'failures', 'openUntil')
    const until = Number(openUntil ?? 0)
    const state: CircuitState = !until ? 'closed' : this.now() < until ? 'open' : 'half_open'
    return { state, failures: Number(failures ?? 0), openUntil: until || null }
  }
}
