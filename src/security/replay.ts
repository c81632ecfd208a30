/**
 * The Redis-backed {@link ReplayGuard}: one key per (client, jti), set with NX and expiring 60 s (the clock
 * leeway) after the assertion does, so a jti can be used once within its lifetime across all instances.
 */

import { AppError } from '../errors.js'
import type { ReplayGuard } from '../ports/callers.js'
import type { RedisClient } from '../queue/redis.js'

/** Clock leeway of PROTOCOL §2: an assertion is accepted up to 60 s after its `exp`. */
const LEEWAY_MS = 60_000

/**
 * @param redis a connection with a fail-fast setup (`enableOfflineQueue: false`): a replay check must not
 *   hang a request while Redis is away; `claim` then rejects with `AppError('not_ready')`.
 * @param prefix key prefix, e.g. `tongban`; keys are `<prefix>:jti:<clientId>:<jti>`.
 * @param now the clock, for tests; default `Date.now`.
 * @example const replay = new RedisReplayGuard(redis, 'tongban')
 */
export class RedisReplayGuard implements ReplayGuard {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(expiresAt.getTime() + LEEWAY_MS - this.now()))
    // Client ids are admin-chosen; encoding them keeps `a:b` + `c` apart from `a` + `b:c`.
    const key = `${this.prefix}:jti:${encodeURIComponent(clientId)}:${jti}`
    let set: string | null
    try {
      set = await this.redis.set(key, '1', 'PX', ttl, 'NX')
    } catch (cause) {
      // Without the replay check no assertion can be accepted: a 503 the client may retry, not a 500.
      // Submissions (`POST /v1/cases`) do not come here: their jti goes to PostgreSQL (services/cases/create.ts).
      throw new AppError('not_ready', 'replay check unavailable', {
        cause,
        retryable: true,
        context: { retryAfterSeconds: 5 },
      })
    }
    return set === 'OK'
  }
}
