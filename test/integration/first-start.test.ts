import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFirstToken, firstStartMessage, localBaseUrl } from '../../src/startup/first-start.js'
import { type Database, openDatabase } from '../../src/store/db.js'
import { migrate } from '../../src/store/migrate.js'
import { PgTokenStore } from '../../src/store/token-store.js'
import { scratchDatabase } from '../helpers/db.js'

let database: Database
let drop: () => Promise<void>

beforeAll(async () => {
  const db = await scratchDatabase('firsttoken')
  drop = db.drop
  database = await openDatabase({ url: db.url, dataDir: '/nonexistent' })
  await migrate(database)
})
afterAll(async () => {
  await database?.close()
  await drop?.()
})

describe('createFirstToken', () => {
  it('creates exactly one admin token when processes start at once, and none later', async () => {
    const made = await Promise.all(Array.from({ length: 6 }, () => createFirstToken(database)))
    const tokens = made.filter((t) => t !== undefined)
    expect(tokens).toHaveLength(1)
    const stored = await new PgTokenStore(database.db).list()
    expect(stored).toEqual([expect.objectContaining({ role: 'admin', region: null, revokedAt: null })])
    expect(tokens[0]).toMatch(new RegExp(`^tbp_${stored[0]?.id}_`))
    expect(await createFirstToken(database)).toBeUndefined()
    expect(await new PgTokenStore(database.db).list()).toHaveLength(1)
  })

  it('the message names the console, the docs, the token and how to make more', () => {
    const text = firstStartMessage({ baseUrl: localBaseUrl('0.0.0.0', 8080), token: 'tbp_x_y', gatewayId: 'gw-1' })
    expect(text).toContain('http://127.0.0.1:8080/console')
    expect(text).toContain('http://127.0.0.1:8080/docs')
    expect(text).toContain('\n    tbp_x_y\n')
    expect(text).toContain('npm run -s tongban -- tokens create --role')
    expect(localBaseUrl('::1', 8080)).toBe('http://[::1]:8080')
  })
})
