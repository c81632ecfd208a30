/**
 * Rate limits shared by every instance of the gateway (PROTOCOL 1.1 §6). Keys name who is limited (a client
 * id, a token id, a source address), never a secret. Implementations fail open: a store that cannot be
 * reached must not turn requests into errors (the Redis one falls back to a per-process limiter).
 */

/** The limits a request can meet; also the `limit` label of `tongban_rate_limited_total`. */
export type LimitName = 'client' | 'person' | 'verify' | 'signin'

/** An answer to one request: allowed, or refused until `retryAfterMs` from now. */
export type LimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number }

export interface RateLimits {
  /** Counts one request of `key` against `limit`; a limit that is off always allows. */
  consume(limit: LimitName, key: string): Promise<LimitDecision>
  /**
   * Failed sign-ins in a row. `lockedFor` says how long sign-in stays locked for any of `keys` (0: not
   * locked); `failed` counts one failure for each key and locks those that reached the threshold (the lock
   * doubles with each further failure); `succeeded` forgets the failures of every key.
   */
  signIn: {
    lockedFor(keys: readonly string[]): Promise<number>
    failed(keys: readonly string[]): Promise<number>
    succeeded(keys: readonly string[]): Promise<void>
  }
}
