import { describe, expect, it } from 'vitest'
import type { PersonToken, TokenStore } from '../../src/ports/callers.js'
import { cachedTokenLookups, newPersonToken, verifyPersonToken } from '../../src/security/tokens.js'

function memoryStore(): TokenStore & { lookups: number } {
  const rows = new Map<string, PersonToken & { hash: Buffer }>()
  const store = {
    lookups: 0,
    async create(t: Omit<PersonToken, 'createdAt' | 'revokedAt'>, hash: Buffer) {
      const row = { ...t, createdAt: new Date(), revokedAt: null, hash }
      rows.set(t.id, row)
      return row
    },
    async findByHash(hash: Buffer) {
      store.lookups++
      const row = [...rows.values()].find((r) => r.hash.equals(hash))
      return row ? { ...row } : null
    },
    async list() {
      return [...rows.values()]
    },
    async revoke(id: string, at: Date) {
      const row = rows.get(id)
      if (!row) throw new Error('unknown')
      row.revokedAt = at
      return { ...row }
    },
  }
  return store
}

describe('cachedTokenLookups', () => {
  it('reuses a lookup for 5 s, and a revocation through it applies at once', async () => {
    const inner = memoryStore()
    let now = 0
    const cached = cachedTokenLookups(inner, 5_000, () => now)
    const t = newPersonToken()
    await cached.create({ id: t.id, role: 'operator', region: '420303', window: 'W1', name: null }, t.hash)
    expect((await verifyPersonToken(t.token, cached)).id).toBe(t.id)
    expect((await verifyPersonToken(t.token, cached)).id).toBe(t.id)
    expect(inner.lookups).toBe(1)
    now += 5_001
    await verifyPersonToken(t.token, cached)
    expect(inner.lookups).toBe(2)
    await cached.revoke(t.id, new Date())
    await expect(verifyPersonToken(t.token, cached)).rejects.toThrow('token revoked')
  })

  it('sees a revocation made elsewhere within the ttl', async () => {
    const inner = memoryStore()
    let now = 0
    const cached = cachedTokenLookups(inner, 5_000, () => now)
    const t = newPersonToken()
    await inner.create({ id: t.id, role: 'admin', region: null, window: null, name: null }, t.hash)
    await verifyPersonToken(t.token, cached)
    await inner.revoke(t.id, new Date())
    now += 1_000
    expect((await verifyPersonToken(t.token, cached)).role).toBe('admin')
    now += 4_500
    await expect(verifyPersonToken(t.token, cached)).rejects.toThrow('token revoked')
  })
})
