/**
 * The audit trail from the command line: `tongban tokens create` is recorded as `cli` with the OS user,
 * `tongban audit log --json` prints the records with the API's filters, and `tongban audit verify` catches
 * an owner's edit of a record (exit 1, naming it).
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { runCli } from '../helpers/process.js'

let t: TestApp
let env: Record<string, string>

beforeAll(async () => {
  t = await createTestApp()
  env = t.cliEnv
})
afterAll(async () => {
  await t?.close()
})

describe('tongban audit', () => {
  it('records the CLI’s actions, lists them, and verify catches an owner’s edit', async () => {
    const created = await runCli(['tokens', 'create', '--role', 'auditor', '--name', '命令行审计员'], env)
    expect(created.code, created.stderr).toBe(0)
    const tokenId = /^tbp_([0-9a-f]{12})_/.exec(created.stdout.trim())![1]!

    const log = await runCli(['audit', 'log', '--json', '--action', 'token.issue', '--target', `token:${tokenId}`], env)
    expect(log.code, log.stderr).toBe(0)
    const lines = log.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toEqual([
      expect.objectContaining({
        action: 'token.issue',
        via: 'cli',
        actor: expect.objectContaining({ kind: 'cli', id: expect.any(String) }),
        change: expect.objectContaining({ after: expect.objectContaining({ role: 'auditor', name: '命令行审计员' }) }),
      }),
    ])
    expect(log.stdout).not.toContain(created.stdout.trim())

    const clean = await runCli(['audit', 'verify'], env)
    expect(clean.code, clean.stdout + clean.stderr).toBe(0)
    expect(clean.stdout).toMatch(/\d+ audit record\(s\) up to seq \d+, 0 broken link\(s\)/)

    // The owner, triggers off, rewrites who issued it.
    const owner = new pg.Client({ connectionString: t.databaseUrl })
    await owner.connect()
    try {
      await owner.query('alter table audit_records disable trigger user')
      await owner.query("update audit_records set actor_id = 'someone-else' where seq = $1", [lines[0].seq])
      await owner.query('alter table audit_records enable trigger user')
    } finally {
      await owner.end()
    }
    const caught = await runCli(['audit', 'verify'], env)
    expect(caught.code).toBe(1)
    expect(caught.stdout).toContain(`BROKEN audit record ${lines[0].seq}: its content differs from its hash (edited)`)
  }, 180_000)
})
