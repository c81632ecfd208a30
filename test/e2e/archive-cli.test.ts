/**
 * `tongban archive` from the command line: a month older than ARCHIVE_RETENTION_MONTHS is exported to a file
 * (its cases, their timelines and related rows, the inclusion proofs of their chain heads in a signed
 * checkpoint), then detached; `tongban archive verify` passes the file offline and names an edited event.
 * A month within the retention is refused.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/ports/clock.js'
import { makeCheckpoint } from '../../src/services/checkpoints/make.js'
import { PgCheckpointStore } from '../../src/store/checkpoint-store.js'
import { type Database, openDatabase } from '../../src/store/db.js'
import { submitIntake } from '../../src/store/intake.js'
import { PgCasePartitionStore } from '../../src/store/partition-store.js'
import { storedCase, storedIntake } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let env: Record<string, string>
let database: Database
let dir: string
const old = [
  storedCase(new Date('2016-01-10T02:00:00Z'), { externalRef: `ZW-A-${randomBytes(3).toString('hex')}` }),
  storedCase(new Date('2016-01-20T02:00:00Z'), { externalRef: `ZW-B-${randomBytes(3).toString('hex')}` }),
]

beforeAll(async () => {
  t = await createTestApp()
  env = t.cliEnv
  dir = await mkdtemp(path.join(os.tmpdir(), 'tongban-archive-'))
  database = await openDatabase({ url: t.databaseUrl, dataDir: os.tmpdir(), poolSize: 2 })
  await new PgCasePartitionStore(database).ensure('2016-01', '2016-01')
  for (const c of old) expect(await submitIntake(database, storedIntake(c))).toEqual({ kind: 'created' })
  await database.query(
    `insert into results (case_id, jws, claims, issuer, kid, attested, verified_at) values ($1, 'x', '{}', 'i', 'k', false, now())`,
    [old[0]?.id],
  )
  const made = await makeCheckpoint({
    caller: null,
    deps: {
      gatewayId: t.gatewayId,
      clock: systemClock,
      store: new PgCheckpointStore(database),
      signer: t.runtime.keys,
    },
  })
  expect(made).not.toBeNull()
}, 120_000)
afterAll(async () => {
  await database?.close()
  await t?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('tongban archive', () => {
  it('refuses a month within the retention period', async () => {
    const res = await runCli(['archive', '--month', '2026-11', '--out', dir], env)
    expect(res.code, res.stdout + res.stderr).toBe(1)
    expect(res.stderr).toContain('不可归档')
  }, 60_000)

  it('exports an old month, verifies it, detaches it; verify passes offline and catches an edit', async () => {
    const dry = await runCli(['archive', '--dry-run'], env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('将归档 2016-01：2 件案件，2 条事件')

    const res = await runCli(['archive', '--month', '2016-01', '--out', dir], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(res.stdout).toContain('已归档 2016-01：2 件案件，2 条事件')
    const [file] = (await readdir(dir)).map((f) => path.join(dir, f))
    expect(file).toMatch(new RegExp(`tongban-archive-${t.gatewayId}-2016-01\\.jsonl$`))

    // Gone from the live tables, kept in the detached ones, the related rows deleted with them.
    const [live] = await database.query<{ cases: number; results: number; kept: number }>(
      `select (select count(*)::int from cases where id = any($1)) as cases,
              (select count(*)::int from results where case_id = any($1)) as results,
              (select count(*)::int from archived_cases_y2016m01) as kept`,
      [old.map((c) => c.id)],
    )
    expect(live).toEqual({ cases: 0, results: 0, kept: 2 })
    expect(await new PgCasePartitionStore(database).months()).not.toContain('2016-01')
    const [audit] = await database.query<{ n: number }>(
      `select count(*)::int as n from audit_records where action = 'cases.archive' and target = 'month:2016-01'`,
      [],
    )
    expect(audit?.n).toBe(1)

    const ok = await runCli(['archive', 'verify', file ?? ''], env)
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, month: '2016-01', cases: 2, events: 2, anchored: 2 })

    // An owner edits an event in the file (and fixes the trailer's digest): the chain and the checkpoint tell.
    const lines = (await readFile(file ?? '', 'utf8')).trimEnd().split('\n')
    const entry = JSON.parse(lines[1] ?? '{}')
    entry.events[0].actor = 'someone-else'
    lines[1] = JSON.stringify(entry)
    await writeFile(path.join(dir, 'edited.jsonl'), `${lines.join('\n')}\n`)
    const bad = await runCli(['archive', 'verify', path.join(dir, 'edited.jsonl')], env)
    expect(bad.code).toBe(1)
    const verdict = JSON.parse(bad.stdout)
    expect(verdict.valid).toBe(false)
    expect(verdict.problems.map((p: { where: string }) => p.where).join('\n')).toMatch(/trailer|seq=1/)
  }, 180_000)
})
