/**
 * The embedded database shared over the gateway's socket (src/store/embedded-socket.ts), in one process:
 * the gateway's handle and a tool's handle (pg over the Unix socket) on one PGlite. Writes are seen at
 * once both ways, a tool's transaction never mixes with the gateway's queries, an abandoned one is
 * rolled back, and a second gateway is refused.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, EmbeddedBusyError, openDatabase, queryRows } from '../../src/store/db.js'
import { lockFileOf } from '../../src/store/embedded-lock.js'
import { socketDirOf, socketFileOf } from '../../src/store/embedded-socket.js'

let dir = ''
let gateway: Database
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-share-'))
  // A fresh PGlite (initdb inside WebAssembly) takes half a minute on a busy machine.
  gateway = await openDatabase({ dataDir: dir, role: 'gateway' })
  await gateway.db.execute(sql`create table notes (id int primary key, text text not null)`)
}, 180_000)
afterAll(async () => {
  await gateway?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const count = async (db: Database) =>
  (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from notes`))[0]?.n

describe('the embedded database shared over its socket', () => {
  it('holds the lock and serves a socket only its owner can open', async () => {
    expect(JSON.parse(await readFile(lockFileOf(dir), 'utf8'))).toMatchObject({ pid: process.pid, role: 'gateway' })
    expect((await stat(socketDirOf(dir))).mode & 0o777).toBe(0o700)
    expect((await stat(socketFileOf(dir))).isSocket()).toBe(true)
  })

  it('a tool writes through the socket and the gateway reads it at once, and back', async () => {
    const tool = await openDatabase({ dataDir: dir })
    try {
      expect(tool.kind).toBe('pglite-shared')
      await tool.transaction(async (tx) => {
        await tx.db.execute(sql`insert into notes values (1, 'from the tool')`)
      })
      expect(await count(gateway)).toBe(1)
      await gateway.db.execute(sql`insert into notes values (2, 'from the gateway')`)
      expect(await count(tool)).toBe(2)
    } finally {
      await tool.close()
    }
    // The gateway goes on after the tool has left.
    expect(await count(gateway)).toBe(2)
  })

  it('keeps a tool transaction apart from the gateway, and rolls back one left open', async () => {
    const client = new pg.Client({ host: socketDirOf(dir), user: 'postgres', database: 'postgres' })
    await client.connect()
    await client.query('begin')
    await client.query(`insert into notes values (3, 'uncommitted')`)
    // The gateway's query waits for the connection to end: it never runs inside the tool's transaction.
    const gatewaySees = count(gateway)
    await client.query('select 1')
    await client.end()
    expect(await gatewaySees).toBe(2)
    expect(await count(gateway)).toBe(2)
    // The session is clean: a new tool may use the same prepared statement names and transactions.
    const tool = await openDatabase({ dataDir: dir })
    try {
      expect(await tool.query<{ n: number }>('select count(*)::int as n from notes', [], 'count-notes')).toEqual([
        { n: 2 },
      ])
    } finally {
      await tool.close()
    }
    const again = await openDatabase({ dataDir: dir })
    try {
      expect(await again.query<{ n: number }>('select count(*)::int as n from notes', [], 'count-notes')).toEqual([
        { n: 2 },
      ])
    } finally {
      await again.close()
    }
  })

  it('refuses a second gateway on the same directory, naming it and the holder', async () => {
    const second = openDatabase({ dataDir: dir, role: 'gateway' })
    await expect(second).rejects.toBeInstanceOf(EmbeddedBusyError)
    await expect(second).rejects.toThrow(`the embedded database in ${dir} is in use by process ${process.pid}`)
  })
})
