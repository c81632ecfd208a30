/**
 * `tongban migrate` with two roles (docs/trust.md): as the owner (DATABASE_MIGRATION_URL) it migrates, creates
 * the runtime role named by DATABASE_URL and says what it did; a second run finds the grants right.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropRole, scratchDatabase, sqlQuery } from '../helpers/db.js'
import { runCli } from '../helpers/process.js'

const role = `tongban_rtcli_${randomBytes(4).toString('hex')}`
let db: Awaited<ReturnType<typeof scratchDatabase>>
let runtimeUrl: string

beforeAll(async () => {
  db = await scratchDatabase('roles')
  const u = new URL(db.url)
  u.username = role
  u.password = 'app-secret'
  runtimeUrl = u.toString()
})
afterAll(async () => {
  await db?.drop()
  await dropRole(role)
})

describe('tongban migrate with two roles', () => {
  it('creates the runtime role, grants it, and reports; then finds nothing to change', async () => {
    const env = { DATABASE_MIGRATION_URL: db.url, DATABASE_URL: runtimeUrl }
    const first = await runCli(['migrate'], env)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain(`runtime role ${role}: created role ${role} (LOGIN)`)
    expect(first.stdout).toContain(`runtime role ${role}: case_events: granted SELECT, INSERT`)
    expect(first.stdout).not.toContain('app-secret')
    const [grants] = await sqlQuery<{ update: boolean; insert: boolean; super: boolean }>(
      db.url,
      `select has_table_privilege($1, 'case_events', 'UPDATE') as update,
              has_table_privilege($1, 'case_events', 'INSERT') as insert,
              (select rolsuper from pg_roles where rolname = $1) as super`,
      [role],
    )
    expect(grants).toEqual({ update: false, insert: true, super: false })
    const again = await runCli(['migrate'], env)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to apply')
    expect(again.stdout).toContain(`runtime role ${role}: grants already right`)
  })
})
