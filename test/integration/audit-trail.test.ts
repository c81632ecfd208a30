/**
 * The audit trail's protection (docs/audit.md): the runtime role may only insert and read it; an owner's
 * edit breaks the chain, and an edit that recomputes the chain is caught by the signed checkpoints; the
 * prune removes only a prefix older than 180 days and under a checkpoint, keeps an anchor from which
 * verification goes on, and is itself recorded.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuditRecord, auditRecordHash } from '../../src/domain/audit-trail.js'
import { pruneAuditTrail } from '../../src/services/audit-trail/prune.js'
import type { AuditTrail } from '../../src/services/audit-trail/trail.js'
import { verifyAuditTrail } from '../../src/services/audit-trail/verify.js'
import { auditCheckpoints } from '../../src/services/checkpoints/audit.js'
import { PgAuditTrailStore } from '../../src/store/audit-trail-store.js'
import { PgCheckpointStore } from '../../src/store/checkpoint-store.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

const role = `tongban_rta_${randomBytes(4).toString('hex')}`
let t: TestApp
let trail: AuditTrail

// The app starts long ago, so that what it records first is past any retention by the database's clock.
beforeAll(async () => {
  t = await createTestApp({ runtimeRole: role, now: '2025-01-02T09:00:00+08:00' })
  trail = t.runtime.deps.auditTrail!
})
afterAll(async () => {
  await t?.close()
})

async function as(url: string, text: string, params: unknown[] = []): Promise<{ rows: any[]; error: string | null }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return { rows: (await client.query(text, params)).rows, error: null }
  } catch (e) {
    return { rows: [], error: (e as Error).message }
  } finally {
    await client.end()
  }
}

/** As the owner, with the append-only triggers off: what someone holding the database could do. */
async function ownerEdit(statements: [string, unknown[]][]): Promise<void> {
  const client = new pg.Client({ connectionString: t.databaseUrl })
  await client.connect()
  try {
    await client.query('begin')
    await client.query('alter table audit_records disable trigger user')
    for (const [text, params] of statements) await client.query(text, params)
    await client.query('alter table audit_records enable trigger user')
    await client.query('commit')
  } finally {
    await client.end()
  }
}

const store = () => new PgAuditTrailStore(t.runtime.database)
const verify = () =>
  verifyAuditTrail({ caller: null, deps: { store: store(), checkpoints: new PgCheckpointStore(t.runtime.database) } })
const checkpointFindings = async () =>
  (
    await auditCheckpoints({
      caller: null,
      deps: {
        store: new PgCheckpointStore(t.runtime.database),
        verify: async (jws, typ) => ({ payload: { ...(await t.runtime.keys.verify(jws, typ)).payload } }),
      },
    })
  ).findings

describe('protected like the cases', () => {
  it('the runtime role may insert and read, never update, delete or truncate', async () => {
    await trail.record(null, { action: 'config.seed', target: 'config:test', outcome: 'done' })
    const url = t.runtimeDatabaseUrl
    expect((await as(url, 'select count(*)::int as n from audit_records')).rows[0].n).toBeGreaterThan(0)
    expect((await as(url, "update audit_records set target = 'x'")).error).toMatch(/permission denied/)
    expect((await as(url, 'delete from audit_records')).error).toMatch(/permission denied/)
    expect((await as(url, 'truncate audit_records')).error).toMatch(/permission denied/)
    expect((await as(url, 'delete from audit_prunes')).error).toMatch(/permission denied/)
    expect((await as(url, 'alter table audit_records disable trigger user')).error).toMatch(/must be owner/)
    // Even the owner goes through the trigger unless it disables it.
    expect((await as(t.databaseUrl, "update audit_records set target = 'x'")).error).toMatch(/append-only/)
    expect((await verify()).breaks).toEqual([])
  })

  it('an owner’s edit breaks the chain; one that recomputes the chain differs from the signed checkpoint', async () => {
    const done = await t.security('POST', '/v1/admin/tokens', { role: 'operator', region: '420303', window: 'W-1' })
    expect(done.status).toBe(201)
    expect((await t.runtime.checkpoint()).made).not.toBeNull()
    const all = await store().scan(0, 1000)
    const victim = all.find((r) => r.action === 'token.issue' && r.target === `token:${done.body.record.id}`)!

    await ownerEdit([['update audit_records set actor_name = $2 where seq = $1', [victim.seq, '别人']]])
    expect((await verify()).breaks).toEqual([
      { seq: victim.seq, problem: 'its content differs from its hash (edited)' },
    ])

    // The same edit with every hash from there on recomputed: the chain holds, the checkpoint does not.
    const rewritten: AuditRecord[] = []
    let prev = victim.prevHash
    for (const r of all.filter((x) => x.seq >= victim.seq)) {
      const changed = { ...r, actor: r.seq === victim.seq ? { ...r.actor, name: '别人' } : r.actor, prevHash: prev }
      const { hash: _h, ...unhashed } = changed
      const next = { ...unhashed, hash: auditRecordHash(unhashed) }
      rewritten.push(next)
      prev = next.hash
    }
    await ownerEdit(
      rewritten.map((r) => [
        'update audit_records set actor_name = $2, prev_hash = $3, hash = $4 where seq = $1',
        [r.seq, r.actor.name, r.prevHash, r.hash],
      ]),
    )
    expect((await verify()).breaks).toEqual([])
    const findings = await checkpointFindings()
    expect(findings).toContainEqual(
      expect.objectContaining({ where: `audit record ${victim.seq}`, problem: expect.stringContaining('changed') }),
    )

    // Put it back as it was: the rest of the file verifies again.
    await ownerEdit(
      all
        .filter((x) => x.seq >= victim.seq)
        .map((r) => [
          'update audit_records set actor_name = $2, prev_hash = $3, hash = $4 where seq = $1',
          [r.seq, r.actor.name, r.prevHash, r.hash],
        ]),
    )
    expect((await verify()).breaks).toEqual([])
    expect(await checkpointFindings()).toEqual([])
  })
})

describe('retention', () => {
  it('prunes only the old prefix under a checkpoint, keeps an anchor, and records the prune', async () => {
    const before = await store().scan(0, 1000)
    const oldest = before.at(-1)!
    // Now (by the database's clock): newer records are never pruned, whatever the runtime role asks.
    t.clock.set(new Date().toISOString())
    await trail.record(null, { action: 'config.seed', target: 'config:recent', outcome: 'done' })
    const recent = (await store().list({ target: 'config:recent' }, null, 1))[0]!
    // Asked to keep 1 day, as the runtime role: the database keeps 180 whatever it is asked.
    const pruned = await pruneAuditTrail({ caller: null, deps: trail }, { keepDays: 1 })
    expect(pruned).toMatchObject({ throughSeq: oldest.seq, throughHash: oldest.hash, records: before.length })
    const left = await store().scan(0, 1000)
    expect(left.map((r) => r.action)).toEqual(['config.seed', 'audit.prune'])
    expect(left[0]!.seq).toBe(recent.seq)
    expect(left[1]).toMatchObject({
      actor: { kind: 'system' },
      target: 'audit:trail',
      change: { throughSeq: oldest.seq, records: before.length, throughHash: oldest.hash },
    })
    expect((await verify()).breaks).toEqual([])
    expect(await checkpointFindings()).toEqual([])

    // Nothing more to prune: nothing is recorded.
    expect(await pruneAuditTrail({ caller: null, deps: trail }, { keepDays: 180 })).toBeNull()
    expect(await verify()).toMatchObject({ prunedThrough: oldest.seq, records: 2, breaks: [] })

    // An anchor that no signed checkpoint backs (an owner who deleted more and wrote one) is caught.
    await ownerEdit([
      ['alter table audit_prunes disable trigger user', []],
      ['update audit_prunes set through_hash = $1', ['f'.repeat(64)]],
      ['alter table audit_prunes enable trigger user', []],
    ])
    expect((await verify()).breaks.map((b) => b.problem)).toContain(
      'the prune anchor is not the record a signed checkpoint covers (records were removed or changed)',
    )
  })
})
