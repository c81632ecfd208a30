/**
 * The checkpoint store on both engines (PostgreSQL and the embedded PGlite): leaves stored in order and read
 * back, the advisory lock taken, and the tables append-only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredCheckpoint } from '../../src/ports/checkpoint-store.js'
import { PgCheckpointStore } from '../../src/store/checkpoint-store.js'
import type { Database } from '../../src/store/db.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

const engines: [string, () => Promise<{ database: Database; drop(): Promise<void> }>][] = [
  ['PostgreSQL', () => createTestDatabase()],
  ['PGlite', () => createTestPglite()],
]

describe.each(engines)('checkpoint store on %s', (_name, open) => {
  let db: { database: Database; drop(): Promise<void> }
  beforeAll(async () => {
    db = await open()
  })
  afterAll(async () => {
    await db?.drop()
  })

  const checkpoint = (seq: number, size: number): StoredCheckpoint => ({
    seq,
    jws: `h.p${seq}.s`,
    root: 'a'.repeat(64),
    size,
    prev: '0'.repeat(64),
    hash: `${seq}`.padStart(64, 'b'),
    createdAt: new Date('2026-12-06T10:00:00.123Z'),
  })

  it('stores a checkpoint with its leaves under the lock and reads them back', async () => {
    const store = new PgCheckpointStore(db.database)
    const leaves = [
      { caseId: 'case-a', seq: 1, head: 'c'.repeat(64) },
      { caseId: 'case-a', seq: 2, head: 'd'.repeat(64) },
      { caseId: 'case-b', seq: 1, head: 'e'.repeat(64) },
    ]
    const done = await store.withLock(async (tx) => {
      expect(await tx.latest()).toBeNull()
      expect(await tx.pendingHeads(null, 10)).toEqual([])
      await tx.insert(checkpoint(1, 3), leaves)
      return true
    })
    expect(done).toBe(true)
    expect(await store.latest()).toEqual(checkpoint(1, 3))
    expect(await store.leaves(1)).toEqual(leaves)
    expect(await store.newestLeafOf('case-a', 5)).toMatchObject({ checkpointSeq: 1, index: 1, seq: 2 })
    expect(await store.newestLeafOf('case-a', 1)).toMatchObject({ index: 0, seq: 1 })
    expect(await store.newestLeafOf('case-c', 5)).toBeNull()
    // No events stored: every leaf differs from the (missing) event, the first per case.
    expect((await store.mismatchedLeaves(1)).map((l) => [l.caseId, l.seq, l.stored])).toEqual([
      ['case-a', 1, null],
      ['case-b', 1, null],
    ])
  })

  it('refuses to change or delete what was stored', async () => {
    await expect(db.database.query("update checkpoints set root = 'x'", [])).rejects.toThrow(/append-only/)
    await expect(db.database.query('delete from checkpoint_leaves', [])).rejects.toThrow(/append-only/)
    await expect(db.database.query('truncate witnessed_checkpoints', [])).rejects.toThrow(/append-only/)
  })
})
