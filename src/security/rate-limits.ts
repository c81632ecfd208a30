/**
 * The Redis-backed {@link RateLimits} (rate-limiter-flexible): fixed windows counted in Redis, so every
 * instance on the same Redis shares each count. While Redis is unreachable each limiter falls back to
 * an in-memory one with the same figures (`insuranceLimiter`): requests keep their answers, and each process
 * then limits on its own (N processes allow up to N times the figure).
 */
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import type { LimitDecision, LimitName, RateLimits } from '../ports/rate-limits.js'
import type { RedisClient } from '../queue/redis.js'

export interface Limit {
  points: number
  seconds: number
}

export interface RateLimitConfig {
  client: Limit | null
  person: Limit | null
  verify: Limit | null
  signin: Limit | null
  /** Failed sign-ins in a row before a lockout (0: never), its first length and its ceiling. */
  signinLock: { after: number; seconds: number; maxSeconds: number }
}

/** A failure streak is forgotten a day after it began. */
const FAILURE_MEMORY_SECONDS = 24 * 3600

/**
 * @param redis a fail-fast connection (`enableOfflineQueue: false`), shared with the replay guard.
 * @param prefix key prefix (QUEUE_PREFIX); keys are `<prefix>:rl:<limit>:<key>`.
 * @param onFallback called when a limiter answers from memory because Redis is away (log it once).
 * @example const limits = new RedisRateLimits(redis, 'tongban', config.limits)
 */
export class RedisRateLimits implements RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterAbstract>()
  private readonly failures: RateLimiterAbstract
  private readonly locks: RateLimiterAbstract

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly config: RateLimitConfig,
    private readonly onFallback: () => void = () => {},
  ) {
    const make = (name: string, points: number, seconds: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}:rl:${name}`,
        points,
        duration: seconds,
        // Not ready: straight to the insurance limiter instead of waiting on a command that will fail.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: name, points, duration: seconds }),
      })
    for (const name of ['client', 'person', 'verify', 'signin'] as const) {
      const limit = config[name]
      if (limit) this.limiters.set(name, make(name, limit.points, limit.seconds))
    }
    this.failures = make('signin-failures', 1_000_000, FAILURE_MEMORY_SECONDS)
    this.locks = make('signin-lock', 1, 1)
  }

  async consume(limit: LimitName, key: string): Promise<LimitDecision> {
    const limiter = this.limiters.get(limit)
    if (!limiter) return { allowed: true }
    this.watchRedis()
    try {
      await limiter.consume(key)
      return { allowed: true }
    } catch (res) {
      if (res instanceof RateLimiterRes) return { allowed: false, retryAfterMs: res.msBeforeNext }
      // The insurance limiter answers store errors, so this is unexpected: fail open.
      return { allowed: true }
    }
  }

  readonly signIn = {
    lockedFor: async (keys: readonly string[]): Promise<number> => {
      if (this.config.signinLock.after === 0) return 0
      this.watchRedis()
      const found = await Promise.all(keys.map((k) => this.locks.get(k).catch(() => null)))
      return Math.max(0, ...found.map((r) => (r && r.consumedPoints > 1 ? r.msBeforeNext : 0)))
    },
    failed: async (keys: readonly string[]): Promise<number> => {
      const { after, seconds, maxSeconds } = this.config.signinLock
      if (after === 0) return 0
      let longest = 0
      for (const key of keys) {
        const streak = await this.failures.consume(key).then(
          (r) => r.consumedPoints,
          (r: unknown) => (r instanceof RateLimiterRes ? r.consumedPoints : 0),
        )
        if (streak < after) continue
        // The lockout doubles with each failure past the threshold: 60 s, 120 s, 240 s … up to maxSeconds.
        const lock = Math.min(maxSeconds, seconds * 2 ** Math.min(30, streak - after))
        await this.locks.block(key, lock).catch(() => undefined)
        longest = Math.max(longest, lock * 1000)
      }
      return longest
    },
    succeeded: async (keys: readonly string[]): Promise<void> => {
      await Promise.all(
        keys.flatMap((k) => [this.failures.delete(k).catch(() => false), this.locks.delete(k).catch(() => false)]),
      )
    },
  }

  private watchRedis(): void {
    if (this.redis.status !== 'ready') this.onFallback()
  }
}
