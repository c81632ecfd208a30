/**
 * Tamper evidence ( docs/trust.md): the gateway runs as a runtime role that cannot alter, update or
 * delete the timeline; every event carries a proof; a row appended past the gateway, or the owner's
 * consistent rewrite of a `completed` event, fails `audit verify` and `verify-evidence` although its chain
 * hash is right. The whole gateway (intake → dispatch → result) runs as the runtime role here.
 */
import { createHash, randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { CompactSign } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { proofAuditDeps } from '../../src/cli/admin.js'
import { eventHash } from '../../src/domain/hash-chain.js'
import { createLogger } from '../../src/logger.js'
import { auditChains } from '../../src/services/audit.js'
import { auditProofs } from '../../src/services/audit-proofs.js'
import type { EvidenceBundle } from '../../src/services/results/evidence.js'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import { openDatabase } from '../../src/store/db.js'
import { migrate } from '../../src/store/migrate.js'
import { checkRuntimeRole, ensureRuntimeRole } from '../../src/store/roles.js'
import { applicant, hukouCertificate, hukouResultClaims } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import type { ClientKey } from '../helpers/client-assertion.js'
import { waitFor } from '../helpers/wait.js'

const role = `tongban_rt_${randomBytes(4).toString('hex')}`
let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let n = 0
const idHash = createHash('sha256').update(`resident_id:${applicant.idNumber}`).digest('base64url')
const validCert = '1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U'

beforeAll(async () => {
  t = await createTestApp({ workers: true, runtimeRole: role })
  shiyan = await t.client('shiyan-trust', ['420300'])
  xiangyang = await t.client('xiangyang-trust', ['420600'])
}, 60_000)
afterAll(async () => {
  await t?.close()
})

/** One statement as `url`'s role; the error's message when refused. */
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

async function signWith(key: ClientKey, payload: Record<string, unknown>, typ: string) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
    .sign(key.privateKey)
}

const statusOf = async (id: string) => (await t.admin('GET', `/v1/cases/${id}`)).body.status as string

/** Submitted by 十堰's system, delivered by the dispatch worker (the default manual binding), accepted and decided by 襄阳's. */
async function decidedCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `TR-${n}` })), {
    'idempotency-key': `tr-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  await waitFor('dispatched', async () => (await statusOf(id)) === 'dispatched', 15_000)
  const accepted = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
  const result = await signWith(
    xiangyang.key,
    hukouResultClaims({
      iss: 'xiangyang-trust',
      sub: id,
      idHash,
      decisionNumber: '襄公户证〔2026〕99号',
      certificates: [
        { id: validCert, type: '户籍证明', validFrom: '2026-09-30', validTo: null, sha256: 'b'.repeat(64) },
      ],
    }),
    'tongban-result+jwt',
  )
  const posted = await xiangyang.call('POST', `/v1/cases/${id}/result`, { result })
  expect(posted.status, JSON.stringify(posted.body)).toBe(201)
  return id
}

async function evidence(id: string): Promise<EvidenceBundle> {
  const res = await shiyan.call('GET', `/v1/cases/${id}/evidence`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body as EvidenceBundle
}

const trustedJwks = async () => (await t.call('GET', '/.well-known/jwks.json')).body

async function audit(caseId: string) {
  const cases = new PgCaseStore(t.runtime.database)
  const chains = await auditChains(cases, { caseId })
  const proofs = await auditProofs(await proofAuditDeps(t.config, createLogger('silent'), t.runtime.database, cases), {
    caseId,
  })
  return { chains, proofs }
}

/** The last event of a case, read as the owner. */
async function lastEvent(id: string) {
  const [row] = (
    await as(
      t.databaseUrl,
      'select seq, hash, type, data from case_events where case_id = $1 order by seq desc limit 1',
      [id],
    )
  ).rows
  return row as { seq: number; hash: string }
}

describe('runtime role', () => {
  it('tongban migrate’s role step creates nothing twice, fixes a widened grant and covers tables added later', async () => {
    const owner = await openDatabase({ url: t.databaseUrl, dataDir: tmpdir(), poolSize: 1 })
    try {
      // The start-up created the role and granted: nothing left to do.
      expect(await ensureRuntimeRole(owner, t.runtimeDatabaseUrl)).toEqual({ role, actions: [], problems: [] })
      await owner.query(`grant update, delete, truncate on case_events to ${role}`, [])
      const fixed = await ensureRuntimeRole(owner, t.runtimeDatabaseUrl)
      expect(fixed.actions).toEqual(['case_events: revoked DELETE, TRUNCATE, UPDATE'])
      expect((await as(t.runtimeDatabaseUrl, 'delete from case_events where false')).error).toMatch(/permission denied/)
      // Default privileges: a table a later migration adds is usable at once (but not deletable).
      await owner.query('create table later_table (id int primary key)', [])
      expect((await as(t.runtimeDatabaseUrl, 'insert into later_table values (1)')).error).toBeNull()
      expect((await as(t.runtimeDatabaseUrl, 'delete from later_table')).error).toMatch(/permission denied/)
      await owner.query('drop table later_table', [])
    } finally {
      await owner.close()
    }
  })
})

describe('tamper evidence', () => {
  let id: string
  beforeAll(async () => {
    id = await decidedCase()
  }, 60_000)

  it('runs intake → dispatch → result as the runtime role; every event is proven and the bundle verifies', async () => {
    const who = await checkRuntimeRole(t.runtime.database)
    expect(who).toEqual({ role, superuser: false, owns: [] })
    // Started with only the runtime role's URL, the gateway finds nothing to migrate and runs.
    expect(await migrate(t.runtime.database)).toMatchObject({ applied: [] })
    const bundle = await evidence(id)
    expect(bundle.events.map((e) => e.type)).toEqual(['submitted', 'dispatched', 'accepted', 'completed', 'recognized'])
    expect(bundle.proofs?.every((p) => p.gateway !== null)).toBe(true)
    // The client's events keep the assertion that carried them; the intake body (identity number) is not kept.
    expect(bundle.proofs?.map((p) => [p.assertion !== null, p.body !== null])).toEqual([
      [true, false],
      [false, false],
      [true, true],
      [true, true],
      [false, false],
    ])
    const verdict = verifyEvidence(bundle, await trustedJwks())
    expect(verdict.problems).toEqual([])
    expect(verdict.valid).toBe(true)
    expect(verdict.checked).toContain('the proofs of 5 event(s)')
    expect(verdict.checked).toContain('the completed event says what the signed result says')
    const { chains, proofs } = await audit(id)
    expect(chains.breaks).toEqual([])
    expect(proofs).toMatchObject({ checked: 1, proven: 5, unproven: 0, breaks: [] })
  })

  it('as the runtime role, a change to a closed month’s case is marked, and the schedule computes that month', async () => {
    const rated = await decidedCase()
    const changed = await as(
      t.runtimeDatabaseUrl,
      `update cases set rating = 4, rated_at = '2025-03-10T10:00:00+08:00' where id = $1`,
      [rated],
    )
    expect(changed.error).toBeNull()
    const done = await t.runtime.tasks.reportMonths()
    expect(done.computed).toContain('2025-03-01')
    const months = await as(
      t.databaseUrl,
      `select (select count(*)::int from report_month_changes) as marks,
              (select sum(ratings)::int from report_months where month = '2025-03-01' and dimension = 'region') as ratings`,
    )
    expect(months.rows[0]).toEqual({ marks: 0, ratings: 1 })
  })

  it('refuses ALTER TABLE, DISABLE TRIGGER, UPDATE and DELETE of case_events to the runtime role', async () => {
    const url = t.runtimeDatabaseUrl
    expect((await as(url, 'alter table case_events add column x int')).error).toMatch(/must be owner/)
    expect((await as(url, 'alter table case_events disable trigger all')).error).toMatch(/must be owner/)
    expect((await as(url, 'update case_events set actor = actor where case_id = $1', [id])).error).toMatch(
      /permission denied/,
    )
    expect((await as(url, 'delete from case_events where case_id = $1', [id])).error).toMatch(/permission denied/)
    expect((await as(url, 'truncate case_events')).error).toMatch(/permission denied/)
    // A month's partition the runtime role has made keeps the parent's append-only privileges.
    const made = await as(url, `select created from tongban_ensure_case_partitions('2031-01-01', '2031-01-01')`)
    expect(made.error).toBeNull()
    expect((await as(url, 'update case_events_y2031m01 set actor = actor where false')).error).toMatch(
      /permission denied/,
    )
    const count = await as(t.databaseUrl, 'select count(*)::int as n from case_events where case_id = $1', [id])
    expect(count.rows[0].n).toBe(5)
  })

  it('an event appended as the runtime role with a correct chain hash but no valid proof fails both verifiers', async () => {
    const forged = await decidedCase()
    const last = await lastEvent(forged)
    const at = new Date('2026-10-01T08:00:00.000Z')
    const event = {
      caseId: forged,
      seq: last.seq + 1,
      type: 'closed',
      at,
      actor: 'client:shiyan-trust',
      data: {},
      prevHash: last.hash,
    }
    const hash = eventHash(event)
    const inserted = await as(
      t.runtimeDatabaseUrl,
      `insert into case_events (case_id, seq, type, at, actor, data, prev_hash, hash, proof)
       values ($1, $2, $3, $4, $5, '{}'::jsonb, $6, $7, $8)`,
      [forged, event.seq, event.type, at.toISOString(), event.actor, last.hash, hash, 'x.y.z'],
    )
    expect(inserted.error).toBeNull()
    expect(
      (await as(t.runtimeDatabaseUrl, 'update cases set last_seq = $2 where id = $1', [forged, event.seq])).error,
    ).toBeNull()

    const { chains, proofs } = await audit(forged)
    // The chain alone is fooled; the proof is not.
    expect(chains.breaks).toEqual([])
    expect(proofs.breaks.map((b) => b.seq)).toContain(event.seq)
    expect(proofs.breaks.find((b) => b.seq === event.seq)?.problem).toMatch(/gateway's proof/)

    const verdict = verifyEvidence(await evidence(forged), await trustedJwks())
    expect(verdict.valid).toBe(false)
    expect(verdict.problems.map((p) => p.where)).toContain(`events[seq=${event.seq}].proof`)
    expect(
      verdict.problems.some((p) => p.where.startsWith('events[seq=') && /chain|hash mismatch/.test(p.problem)),
    ).toBe(false)
  })

  it('the owner’s consistent rewrite of a completed outcome fails verify-evidence and audit verify', async () => {
    const victim = await decidedCase()
    const owner = new pg.Client({ connectionString: t.databaseUrl })
    await owner.connect()
    let completedSeq = 0
    try {
      await owner.query('begin')
      await owner.query('alter table case_events disable trigger case_events_no_update_delete')
      const rows = (await owner.query('select * from case_events where case_id = $1 order by seq', [victim])).rows
      let prev = ''
      for (const r of rows) {
        const data = r.type === 'completed' ? { ...r.data, outcome: 'denied' } : r.data
        if (r.type === 'completed') completedSeq = r.seq
        const prevHash = prev === '' ? r.prev_hash : prev
        // Recomputed as the gateway would, with the digest each event records (HASH_ALG).
        const hash = eventHash({
          caseId: victim,
          seq: r.seq,
          type: r.type,
          at: r.at,
          actor: r.actor,
          data,
          prevHash,
          hashAlg: r.hash_alg,
        })
        await owner.query(
          'update case_events set data = $3, prev_hash = $4, hash = $5 where case_id = $1 and seq = $2',
          [victim, r.seq, JSON.stringify(data), prevHash, hash],
        )
        prev = hash
      }
      await owner.query(`update cases set outcome = 'denied' where id = $1`, [victim])
      await owner.query('alter table case_events enable trigger case_events_no_update_delete')
      await owner.query('commit')
    } finally {
      await owner.end()
    }
    expect(completedSeq).toBeGreaterThan(0)

    const { chains, proofs } = await audit(victim)
    expect(chains.breaks).toEqual([])
    const at = proofs.breaks.filter((b) => b.seq === completedSeq).map((b) => b.problem)
    expect(at.join('\n')).toMatch(/signs another hash/)
    expect(at.join('\n')).toMatch(/signed result says approved/)

    const bundle = await evidence(victim)
    expect(bundle.events.find((e) => e.type === 'completed')?.data.outcome).toBe('denied')
    const verdict = verifyEvidence(bundle, await trustedJwks())
    expect(verdict.valid).toBe(false)
    const found = verdict.problems.map((p) => `${p.where}: ${p.problem}`).join('\n')
    expect(found).toContain(`events[seq=${completedSeq}].proof: the gateway's proof signs another hash`)
    expect(found).toContain(`events[seq=${completedSeq}]: data.outcome is denied, but the signed result says approved`)
    expect(found).toContain('case.outcome: is denied, but the signed result says approved')
  })
})
