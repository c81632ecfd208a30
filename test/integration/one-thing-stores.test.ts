/**
 * The 一事联办 stores on both engines (PostgreSQL and the embedded PGlite): files by SHA-256, joint
 * inspections sharing a transaction with case events, and the 容缺 overdue query.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/store/db.js'
import { PgFileStore } from '../../src/store/file-store.js'
import { PgInspectionStore } from '../../src/store/inspection-store.js'
import { PgOutstandingStore } from '../../src/store/outstanding-store.js'
import { files } from '../fixtures/one-thing.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

const backends = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
]

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A minimal case row (the columns that have no default). */
async function insertCase(
  db: Database,
  id: string,
  o: { processing?: string; materials?: unknown[]; status?: string; outstanding?: string[]; supplyBy?: string } = {},
) {
  await db.query(
    `insert into cases (id, created_by, created_by_kind, mode, scope, origin_region, processing_region, status,
       applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
       form, materials, body_hash, receipt, created_at, updated_at, outstanding_materials, supply_by)
     values ($1, 'zw', 'person', 'online_transfer', 'within_city', '420303', $2, $3, 'person', '张三', 'passport',
       '\\x00', '\\x00', 'E1****78', '{}', $4::jsonb, 'h', 'r', now(), now(), $5::text[], $6::date)`,
    [
      id,
      o.processing ?? '420303',
      o.status ?? 'accepted',
      JSON.stringify(o.materials ?? []),
      o.outstanding ?? [],
      o.supplyBy ?? null,
    ],
  )
}

describe.each(backends)('一事联办 stores on $name', ({ open }) => {
  let db: Awaited<ReturnType<typeof open>>
  beforeAll(async () => {
    db = await open()
  }, 60_000)
  afterAll(async () => {
    await db?.drop()
  })

  it('stores a file once, records each uploader once, and finds the cases that reference it', async () => {
    const store = new PgFileStore(db.database)
    const pdf = files.pdf('store')
    const first = await store.put(
      { sha256: sha(pdf), mediaType: 'application/pdf', content: pdf },
      'person:a',
      'upload',
    )
    expect(first).toMatchObject({
      created: true,
      file: { sha256: sha(pdf), size: pdf.length, mediaType: 'application/pdf' },
    })
    const again = await store.put(
      { sha256: sha(pdf), mediaType: 'application/pdf', content: pdf },
      'person:a',
      'upload',
    )
    expect(again.created).toBe(false)
    await store.put({ sha256: sha(pdf), mediaType: 'application/pdf', content: pdf }, 'client:b', 'peer')
    const [counts] = await db.database.query<{ files: number; uploads: number }>(
      'select (select count(*)::int from files) as files, (select count(*)::int from file_uploads) as uploads',
      [],
    )
    expect(counts).toEqual({ files: 1, uploads: 2 })
    const read = await store.content(sha(pdf))
    expect(read?.content.equals(pdf)).toBe(true)
    expect(Buffer.isBuffer(read?.content)).toBe(true)
    expect(await store.uploadedBy(sha(pdf), 'client:b')).toBe(true)
    expect(await store.uploadedBy(sha(pdf), 'client:c')).toBe(false)
    expect(await store.use([sha(pdf), 'f'.repeat(64)])).toEqual(['f'.repeat(64)])
    expect(await store.use([])).toEqual([])

    await insertCase(db.database, 'c-file-1', { processing: '420600', materials: [{ code: 'x', sha256: sha(pdf) }] })
    await insertCase(db.database, 'c-file-2', { materials: [{ code: 'x', sha256: 'e'.repeat(64) }] })
    expect(await store.references(sha(pdf))).toEqual([
      { caseId: 'c-file-1', originRegion: '420303', processingRegion: '420600', agentWindow: null, item: null },
    ])
  })

  it('an inspection commits with the case events of its transaction, or not at all', async () => {
    const store = new PgInspectionStore(db.database)
    await insertCase(db.database, 'p-1', { processing: '420303' })
    await insertCase(db.database, 'k-1')
    await insertCase(db.database, 'k-2')
    const inspection = {
      id: 'insp-1',
      parentId: 'p-1',
      children: ['k-1', 'k-2'],
      date: '2026-10-09',
      place: '现场',
      status: 'scheduled' as const,
      createdBy: 'person:x',
      createdAt: new Date('2026-09-29T01:00:00Z'),
      completedBy: null,
      completedAt: null,
    }
    await expect(
      store.transaction(async (tx) => {
        await tx.cases.appendEvent('k-1', {
          type: 'suspended',
          at: new Date(),
          actor: 'x',
          data: { inspection: 'insp-0' },
        })
        await tx.insert({ ...inspection, id: 'insp-0' })
        throw new Error('the second child refused')
      }),
    ).rejects.toThrow('the second child refused')
    expect(await store.get('insp-0')).toBeNull()
    const [events] = await db.database.query<{ n: number }>(
      "select count(*)::int as n from case_events where case_id = 'k-1'",
      [],
    )
    expect(events?.n).toBe(0)

    await store.transaction((tx) => tx.insert(inspection))
    expect(await store.get('insp-1')).toEqual(inspection)
    await store.transaction(async (tx) => {
      expect((await tx.lock('insp-1'))?.status).toBe('scheduled')
      await tx.complete('insp-1', 'person:y', new Date('2026-10-09T08:00:00Z'))
    })
    expect(await store.ofParent('p-1')).toEqual([
      { ...inspection, status: 'completed', completedBy: 'person:y', completedAt: new Date('2026-10-09T08:00:00Z') },
    ])
  })

  it('lists open cases whose outstanding materials are past their supply date', async () => {
    const store = new PgOutstandingStore(db.database)
    await insertCase(db.database, 'o-late', { outstanding: ['a', 'b'], supplyBy: '2026-10-01' })
    await insertCase(db.database, 'o-today', { outstanding: ['a'], supplyBy: '2026-10-02' })
    await insertCase(db.database, 'o-closed', { outstanding: ['a'], supplyBy: '2026-09-01', status: 'withdrawn' })
    await insertCase(db.database, 'o-cleared', { outstanding: [], supplyBy: '2026-09-01' })
    const overdue = await store.materialsOverdue('2026-10-02', 10)
    expect(overdue).toEqual([
      {
        caseId: 'o-late',
        parentId: null,
        item: null,
        originRegion: '420303',
        processingRegion: '420303',
        outstanding: ['a', 'b'],
        supplyBy: '2026-10-01',
      },
    ])
    // Once its passing was reported (materials_overdue), the sweep's query leaves it out; a later date is new.
    await db.database.query(`update cases set materials_reported_for = supply_by where id = 'o-late'`, [])
    expect(await store.materialsOverdue('2026-10-02', 10, { unreported: true })).toEqual([])
    expect((await store.materialsOverdue('2026-10-02', 10)).map((o) => o.caseId)).toEqual(['o-late'])
    await db.database.query(`update cases set supply_by = '2026-10-01'::date + 0 where id = 'o-today'`, [])
    expect((await store.materialsOverdue('2026-10-02', 10, { unreported: true })).map((o) => o.caseId)).toEqual([
      'o-today',
    ])
  })
})
