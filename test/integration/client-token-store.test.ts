/**
 * PgClientStore and PgTokenStore against the real PostgreSQL and against PGlite.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SystemClient } from '../../src/ports/callers.js'
import { PgClientStore } from '../../src/store/client-store.js'
import type { Database } from '../../src/store/db.js'
import { PgTokenStore } from '../../src/store/token-store.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

const backends = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
] as const

const jwks = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'x-coordinate', y: 'y-coordinate' }] }
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest()

describe.each(backends)('client and token stores on $name', (backend) => {
  let database: Database
  let drop: () => Promise<void>
  let clients: PgClientStore
  let tokens: PgTokenStore

  beforeAll(async () => {
    ;({ database, drop } = await backend.open())
    clients = new PgClientStore(database.db)
    tokens = new PgTokenStore(database.db)
  })

  afterAll(async () => {
    await drop?.()
  })

  describe('PgClientStore', () => {
    it('adds, gets and lists clients', async () => {
      const before = Date.now()
      const a = await clients.add({ id: 'zw-420303', name: '张湾区政务服务网', regions: ['420303'], jwks })
      const b = await clients.add({
        id: 'xy-420600',
        regions: ['420600', 'hubei-northwest'],
        jwksUrl: 'https://xy.example/jwks',
      })
      expect(a).toEqual({
        id: 'zw-420303',
        name: '张湾区政务服务网',
        regions: ['420303'],
        departments: null,
        jwks,
        jwksUrl: null,
        status: 'active',
        createdAt: expect.any(Date),
        revokedAt: null,
      } satisfies SystemClient)
      expect(a.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000)
      expect(b).toMatchObject({ name: null, jwks: null, jwksUrl: 'https://xy.example/jwks' })
      expect(await clients.get('zw-420303')).toEqual(a)
      expect(await clients.get('nobody')).toBeNull()
      expect((await clients.list()).map((c) => c.id)).toEqual(['xy-420600', 'zw-420303'])
    })

    it('refuses a duplicate id with conflict, and a client without keys', async () => {
      await clients.add({ id: 'dup', regions: ['420303'], jwks })
      await expect(clients.add({ id: 'dup', regions: ['420304'], jwks })).rejects.toMatchObject({ code: 'conflict' })
      await expect(clients.add({ id: 'keyless', regions: ['420303'] })).rejects.toMatchObject({
        code: 'validation_failed',
      })
      expect(await clients.get('keyless')).toBeNull()
    })

    it('replaces keys', async () => {
      await clients.add({ id: 'rotating', regions: ['420303'], jwks })
      const next = { keys: [{ kty: 'EC', kid: 'k2' }] }
      expect(await clients.setKeys('rotating', next, null)).toMatchObject({ jwks: next, jwksUrl: null })
      await expect(clients.setKeys('nobody', next, null)).rejects.toMatchObject({ code: 'not_found' })
      await expect(clients.setKeys('rotating', null, null)).rejects.toMatchObject({ code: 'validation_failed' })
    })

    it('revokes, keeping the row and the first revocation time', async () => {
      await clients.add({ id: 'leaving', regions: ['420303'], jwks })
      const at = new Date('2026-03-01T08:00:00.123Z')
      const revoked = await clients.revoke('leaving', at)
      expect(revoked).toMatchObject({ status: 'revoked', revokedAt: at })
      expect(await clients.revoke('leaving', new Date('2026-04-01T00:00:00Z'))).toMatchObject({ revokedAt: at })
      expect(await clients.get('leaving')).toEqual(revoked)
      await expect(clients.revoke('nobody', at)).rejects.toMatchObject({ code: 'not_found' })
      await expect(clients.add({ id: 'leaving', regions: ['420303'], jwks })).rejects.toMatchObject({
        code: 'conflict',
      })
    })
  })

  describe('PgTokenStore', () => {
    it('creates tokens and finds them by the hash of their secret', async () => {
      const secret = randomBytes(32)
      const admin = await tokens.create(
        { id: 'tok-admin', role: 'admin', region: null, window: null, name: null },
        sha256(secret),
      )
      expect(admin).toEqual({
        id: 'tok-admin',
        role: 'admin',
        region: null,
        window: null,
        name: null,
        departments: null,
        createdAt: expect.any(Date),
        revokedAt: null,
      })
      const operator = await tokens.create(
        {
          id: 'tok-op',
          role: 'operator',
          region: '420303',
          window: 'window-3',
          name: '李四',
          departments: ['public-security'],
        },
        sha256(randomBytes(32)),
      )
      expect(await tokens.findByHash(sha256(secret))).toEqual(admin)
      expect(await tokens.findByHash(sha256(randomBytes(32)))).toBeNull()
      expect((await tokens.list()).map((t) => t.id)).toEqual([admin.id, operator.id])
      expect(operator).toMatchObject({
        region: '420303',
        window: 'window-3',
        name: '李四',
        departments: ['public-security'],
      })
    })

    it('refuses a duplicate id or secret with conflict', async () => {
      const hash = sha256(randomBytes(32))
      await tokens.create({ id: 'tok-dup', role: 'operator', region: '420303', window: null, name: null }, hash)
      const sameId = tokens.create(
        { id: 'tok-dup', role: 'operator', region: '420303', window: null, name: null },
        sha256(randomBytes(32)),
      )
      await expect(sameId).rejects.toMatchObject({ code: 'conflict' })
      const sameSecret = tokens.create({ id: 'tok-other', role: 'admin', region: null, window: null, name: null }, hash)
      await expect(sameSecret).rejects.toMatchObject({ code: 'conflict' })
    })

    it('revokes: the token is still found by hash, with revokedAt set', async () => {
      const hash = sha256(randomBytes(32))
      await tokens.create({ id: 'tok-rev', role: 'operator', region: '420303', window: null, name: null }, hash)
      const at = new Date('2026-03-02T10:00:00.456Z')
      expect(await tokens.revoke('tok-rev', at)).toMatchObject({ id: 'tok-rev', revokedAt: at })
      expect(await tokens.revoke('tok-rev', new Date())).toMatchObject({ revokedAt: at })
      expect(await tokens.findByHash(hash)).toMatchObject({ id: 'tok-rev', revokedAt: at })
      await expect(tokens.revoke('nobody', at)).rejects.toMatchObject({ code: 'not_found' })
    })
  })
})
