import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import type { PersonToken, TokenStore } from '../../src/ports/callers.js'
import { hashPersonToken, looksLikePersonToken, newPersonToken, verifyPersonToken } from '../../src/security/tokens.js'

function memoryStore(): TokenStore & { rows: Map<string, PersonToken> } {
  const rows = new Map<string, PersonToken>()
  const byId = new Map<string, string>()
  return {
    rows,
    async create(token, hash) {
      const row = { ...token, createdAt: new Date(), revokedAt: null }
      rows.set(hash.toString('hex'), row)
      byId.set(token.id, hash.toString('hex'))
      return row
    },
    async findByHash(hash) {
      return rows.get(hash.toString('hex')) ?? null
    },
    async list() {
      return [...rows.values()]
    },
    async revoke(id, at) {
      const row = rows.get(byId.get(id)!)!
      row.revokedAt = at
      return row
    },
  }
}

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(AppError)
  expect((e as AppError).code).toBe('unauthenticated')
  return (e as AppError).message
}

describe('person tokens', () => {
  it('issues tbp_<id>_<secret> tokens stored only by hash', () => {
    const t = newPersonToken()
    expect(t.token).toBe(`tbp_${t.id}_${t.secret}`)
    expect(t.id).toMatch(/^[0-9a-f]{12}$/)
    expect(Buffer.from(t.secret, 'base64url')).toHaveLength(32)
    expect(t.hash.equals(hashPersonToken(t.token))).toBe(true)
    expect(newPersonToken().token).not.toBe(t.token)
  })

  it('tells tokens from assertions by format', () => {
    expect(looksLikePersonToken(newPersonToken().token)).toBe(true)
    expect(looksLikePersonToken('eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln')).toBe(false)
    expect(looksLikePersonToken('tbp_0123456789ab_short')).toBe(false)
  })

  it('resolves a stored token and refuses unknown, tampered and revoked ones', async () => {
    const store = memoryStore()
    const t = newPersonToken()
    await store.create({ id: t.id, role: 'operator', region: '420303', window: 'w-1', name: 'Li' }, t.hash)
    expect(await verifyPersonToken(t.token, store)).toEqual({
      kind: 'person',
      id: t.id,
      role: 'operator',
      region: '420303',
      window: 'w-1',
      name: 'Li',
    })
    const flipped = t.token.slice(0, -1) + (t.token.endsWith('A') ? 'B' : 'A')
    expect(await reason(verifyPersonToken(flipped, store))).toBe('unknown token')
    expect(await reason(verifyPersonToken(newPersonToken().token, store))).toBe('unknown token')
    expect(await reason(verifyPersonToken('garbage', store))).toBe('unknown token')
    await store.revoke(t.id, new Date())
    const message = await reason(verifyPersonToken(t.token, store))
    expect(message).toBe('token revoked')
    expect(message).not.toContain(t.secret)
  })
})
