import { describe, expect, it } from 'vitest'
import { jwkRevokedAt, markRevoked, revokedReason, signedAfterRevocation } from '../../src/domain/key-revocation.js'

const at = new Date('2026-10-01T00:00:00Z')
const s = at.getTime() / 1000

describe('key revocation rule', () => {
  it('refuses what was signed at or after the revocation time, and what has no usable iat', () => {
    expect(signedAfterRevocation(s - 1, at)).toBe(false)
    expect(signedAfterRevocation(s, at)).toBe(true)
    expect(signedAfterRevocation(s + 1, at)).toBe(true)
    expect(signedAfterRevocation(undefined, at)).toBe(true)
    expect(signedAfterRevocation('1', at)).toBe(true)
    expect(revokedReason('gw-x', 'k1', at, s + 60)).toBe(
      'key_revoked: key k1 of gw-x was revoked at 2026-10-01T00:00:00.000Z, and this was signed at 2026-10-01T00:01:00.000Z',
    )
  })

  it('marks published keys, the earlier of the recorded and the published time winning', () => {
    const jwks = {
      keys: [
        { kid: 'a', kty: 'EC' },
        { kid: 'b', kty: 'EC', revokedAt: '2026-09-01T00:00:00.000Z' },
        { kid: 'c', kty: 'EC', revokedAt: '2026-12-01T00:00:00.000Z' },
      ],
    }
    const marked = markRevoked(
      jwks,
      new Map([
        ['c', at],
        ['a', at],
      ]),
    )
    expect(marked.keys.map((k) => k.revokedAt)).toEqual([
      '2026-10-01T00:00:00.000Z',
      '2026-09-01T00:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
    ])
    expect(jwks.keys[0]).not.toHaveProperty('revokedAt')
    expect(jwkRevokedAt({ kid: 'x' })).toBeNull()
    // A malformed mark counts as revoked since ever, never as not revoked.
    expect(jwkRevokedAt({ kid: 'x', revokedAt: 'soon' })?.getTime()).toBe(0)
  })
})
