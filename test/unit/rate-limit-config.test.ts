/** The rate limits' settings (RATE_LIMIT_*, SIGNIN_LOCK_*) as config/env.ts reads them. */
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'

describe('rate limit settings', () => {
  it('reads POINTS/SECONDS or off, and says what it wants otherwise', () => {
    const c = loadConfig({ RATE_LIMIT_CLIENT: '100/10', RATE_LIMIT_VERIFY: 'off' })
    expect(c.limits.client).toEqual({ points: 100, seconds: 10 })
    expect(c.limits.verify).toBeNull()
    expect(c.limits.person).toEqual({ points: 600, seconds: 60 })
    expect(() => loadConfig({ RATE_LIMIT_SIGNIN: 'ten per minute' })).toThrow(/RATE_LIMIT_SIGNIN: requests\/seconds/)
    expect(() => loadConfig({ SIGNIN_LOCK_SECONDS: '600', SIGNIN_LOCK_MAX_SECONDS: '60' })).toThrow(
      /SIGNIN_LOCK_MAX_SECONDS/,
    )
  })
})
