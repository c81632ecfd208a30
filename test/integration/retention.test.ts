/**
 * Retention: an upload that no case references is deleted once nobody uploaded or referenced it for
 * FILE_UNUSED_RETENTION_HOURS; one a case references is kept for ever; a reference or a second upload
 * starts its time again. Idempotency answers are deleted after 48 h. `tongban prune` does it on demand.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { pruneStorage } from '../../src/services/retention.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import { PgFileStore } from '../../src/store/file-store.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { files } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { createTestPglite } from '../helpers/db.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let window: Awaited<ReturnType<TestApp['operator']>>

beforeAll(async () => {
  t = await createTestApp()
  window = await t.operator('420303', 'ZW-KSTB-01', '李窗口')
}, 60_000)

afterAll(async () => {
  await t?.close()
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const db = () => t.runtime.database

async function upload(body: Buffer) {
  const r = await t.app.request('/v1/files', {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/pdf', authorization: `Bearer ${window.token}` },
  })
  expect([200, 201]).toContain(r.status)
  return sha(body)
}

/** Makes files look unused for `hours` (their last upload or reference that long ago). */
async function age(hashes: string[], hours: number) {
  await db().query(`update files set used_at = now() - make_interval(hours => $2) where sha256 = any($1::text[])`, [
    hashes,
    hours,
  ])
}

const stored = async (hash: string) =>
  (await db().query<{ n: number }>('select count(*)::int as n from files where sha256 = $1', [hash]))[0]?.n === 1

const deps = (fileUnusedHours = 168) => ({
  files: new PgFileStore(db()),
  cases: t.runtime.deps.cases.cases,
  clock: t.clock,
  logger: createLogger('silent'),
  fileUnusedHours,
})
/** The retention runs as the system: no caller. */
const system = <D>(d: D) => ({ caller: null, deps: d })

let keyN = 0
const submit = (materials: unknown[]) =>
  window.call('POST', '/v1/cases', hukouCertificate({ externalRef: `RET-${keyN}`, materials }), {
    'idempotency-key': `ret-${++keyN}`,
  })

describe('retention of files and idempotency answers', () => {
  it('deletes only the old uploads that no case references', async () => {
    const used = await upload(files.pdf('used by a case'))
    const orphan = await upload(files.pdf('never used'))
    const recent = await upload(files.pdf('uploaded just now'))
    const created = await submit([
      { code: 'applicant-id-card', form: 'electronic', sha256: used },
      { code: 'hukou-booklet', form: 'paper' },
    ])
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    await age([used, orphan], 200)
    const size = files.pdf('never used').length

    const dry = await pruneStorage(system(deps()), { dryRun: true })
    expect(dry).toMatchObject({ files: 1, bytes: size, dryRun: true })
    expect(await stored(orphan)).toBe(true)

    expect(await pruneStorage(system(deps()))).toMatchObject({ files: 1, bytes: size, dryRun: false })
    expect(await stored(orphan)).toBe(false)
    expect(await db().query('select 1 from file_uploads where sha256 = $1', [orphan])).toEqual([])
    expect(await stored(used)).toBe(true)
    expect(await stored(recent)).toBe(true)
    const gone = await t.app.request(`/v1/files/${orphan}`, { headers: { authorization: `Bearer ${window.token}` } })
    expect(gone.status).toBe(404)
    const kept = await t.app.request(`/v1/files/${used}`, { headers: { authorization: `Bearer ${window.token}` } })
    expect(kept.status).toBe(200)
    // A retention longer than the files' age keeps them all.
    await age([recent], 100)
    expect(await pruneStorage(system(deps(168)))).toMatchObject({ files: 0 })
    expect(await pruneStorage(system(deps(99)))).toMatchObject({ files: 1 })
    expect(await stored(recent)).toBe(false)
  })

  it('starts the time again on a second upload or a reference, and a referencing case is refused after deletion', async () => {
    const again = await upload(files.pdf('sent twice'))
    const referenced = await upload(files.pdf('referenced late'))
    const lost = await upload(files.pdf('deleted first'))
    await age([again, referenced, lost], 200)
    await upload(files.pdf('sent twice'))
    // A submission that references the file marks it used even if a rule then refuses the case.
    expect(await new PgFileStore(db()).use([referenced, 'f'.repeat(64)])).toEqual(['f'.repeat(64)])
    expect(await pruneStorage(system(deps()))).toMatchObject({ files: 1 })
    expect([await stored(again), await stored(referenced), await stored(lost)]).toEqual([true, true, false])

    const refused = await submit([
      { code: 'applicant-id-card', form: 'electronic', sha256: lost },
      { code: 'hukou-booklet', form: 'paper' },
    ])
    expect(refused.status).toBe(422)
    expect(refused.body.code).toBe('unknown_file')
    // Uploaded again, it is stored again and the case goes in.
    await upload(files.pdf('deleted first'))
    const accepted = await submit([
      { code: 'applicant-id-card', form: 'electronic', sha256: lost },
      { code: 'hukou-booklet', form: 'paper' },
    ])
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
  })

  it('deletes idempotency answers older than 48 h, and `tongban prune` reports what it deletes', async () => {
    const before = (await db().query<{ n: number }>('select count(*)::int as n from idempotency_keys', []))[0]?.n ?? 0
    // ret-1 and ret-3 (ret-2 was refused: a refusal stores no answer).
    expect(before).toBe(2)
    const [oldest] = await db().query<{ key: string }>(`select key from idempotency_keys where key = 'ret-1'`, [])
    await db().query(`update idempotency_keys set created_at = $2::timestamptz - interval '49 hours' where key = $1`, [
      oldest?.key,
      t.clock.now().toISOString(),
    ])
    await db().query(
      `update idempotency_keys set created_at = $1::timestamptz - interval '47 hours' where key = 'ret-3'`,
      [t.clock.now().toISOString()],
    )
    expect(await pruneStorage(system(deps()), { dryRun: true })).toMatchObject({ idempotencyKeys: 1 })
    expect(await pruneStorage(system(deps()))).toMatchObject({ idempotencyKeys: 1 })
    const keys = (await db().query<{ key: string }>('select key from idempotency_keys', [])).map((r) => r.key)
    expect(keys).not.toContain(oldest?.key)
    expect(keys).toEqual(['ret-3'])

    const orphan = await upload(files.pdf('for the command'))
    await age([orphan], 500)
    const env = { DATABASE_URL: t.databaseUrl, TONGBAN_DATA_DIR: t.config.dataDir, FILE_UNUSED_RETENTION_HOURS: '400' }
    const dry = await runCli(['prune', '--dry-run'], env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/^would delete 1 unused file\(s\) \(\d+ bytes, unused for 400 h/)
    expect(await stored(orphan)).toBe(true)
    const run = await runCli(['prune'], env)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^deleted 1 unused file\(s\)/)
    expect(await stored(orphan)).toBe(false)
  }, 60_000)
})

describe('retention on the embedded database (PGlite)', () => {
  it('runs the same statements', async () => {
    const pg = await createTestPglite()
    try {
      const store = new PgFileStore(pg.database)
      const kept = files.pdf('embedded, touched')
      const dropped = files.pdf('embedded, unused')
      await store.put({ sha256: sha(kept), mediaType: 'application/pdf', content: kept }, 'person:a', 'upload')
      await store.put({ sha256: sha(dropped), mediaType: 'application/pdf', content: dropped }, 'person:a', 'upload')
      await pg.database.query(`update files set used_at = now() - interval '10 days'`, [])
      expect(await store.use([sha(kept)])).toEqual([])
      const report = await pruneStorage(
        system({
          files: store,
          cases: new PgCaseStore(pg.database),
          clock: t.clock,
          logger: createLogger('silent'),
          fileUnusedHours: 168,
        }),
      )
      expect(report).toEqual({ files: 1, bytes: dropped.length, idempotencyKeys: 0, dryRun: false })
      expect(
        (await pg.database.query<{ sha256: string }>('select sha256 from files', [])).map((r) => r.sha256),
      ).toEqual([sha(kept)])
    } finally {
      await pg.drop()
    }
  }, 60_000)
})
