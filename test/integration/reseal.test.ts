/**
 * `tongban keys reseal`: every stored identity number, phone and personal form value moves to the current key
 * and cipher in batches; a run interrupted halfway is completed by a second run, and every value still opens.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resealerOf } from '../../src/cli/keys-reseal.js'
import { IdentityVault } from '../../src/security/pii.js'
import { resealStoredValues } from '../../src/store/reseal.js'
import { applicant, hukouCertificate, residentId } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { runCli } from '../helpers/process.js'

const keyA = randomBytes(32)
const keyB = randomBytes(32)
const keyC = randomBytes(32)
const CASES = 7

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let db: pg.Client
const numbers = new Map<string, { idNumber: string; phone: string }>()

interface Row {
  id: string
  applicant_id_enc: Buffer
  applicant_id_hmac: Buffer
  applicant_phone_enc: Buffer
  form: { applicantPhone: { sealed: string; masked: string; kind: string } }
}

const rows = async () => (await db.query<Row>('select * from cases order by id')).rows

beforeAll(async () => {
  t = await createTestApp({ env: { IDENTITY_KEY: keyA.toString('base64'), PII_CIPHER: 'aes-256-gcm' } })
  shiyan = await t.client('shiyan-reseal', ['420300'])
  xiangyang = await t.client('xiangyang-reseal', ['420600'])
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
  for (let i = 0; i < CASES; i++) {
    const idNumber = residentId(`4203031990030${String(7100 + i)}`)
    const phone = `1397777${String(1000 + i)}`
    const res = await shiyan.call(
      'POST',
      '/v1/cases',
      hukouCertificate({
        applicant: { ...applicant, idNumber, phone },
        form: { applicantName: '张三', applicantPhone: phone, certificateType: '户籍证明', purpose: '办理入学' },
      }),
      { 'idempotency-key': `reseal-${i}` },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    numbers.set(res.body.case.id, { idNumber, phone })
  }
}, 120_000)
afterAll(async () => {
  await db?.end()
  await t?.close()
})

/** Each row's values open under `vault` to what was submitted, and are (or are not) under its key and cipher. */
function expectRows(list: Row[], vault: IdentityVault, current: boolean[]) {
  expect(list).toHaveLength(CASES)
  list.forEach((r, i) => {
    const want = numbers.get(r.id)!
    const sealedForm = Buffer.from(r.form.applicantPhone.sealed, 'base64')
    expect(vault.decrypt(r.applicant_id_enc), r.id).toBe(want.idNumber)
    expect(vault.decrypt(r.applicant_phone_enc)).toBe(want.phone)
    expect(vault.decrypt(sealedForm)).toBe(want.phone)
    expect([i, vault.isCurrent(r.applicant_id_enc)]).toEqual([i, current[i]])
    expect(vault.isCurrent(r.applicant_phone_enc)).toBe(current[i])
    expect(vault.isCurrent(sealedForm)).toBe(current[i])
    expect(r.applicant_id_hmac.equals(vault.lookupHash('resident_id', want.idNumber))).toBe(current[i])
  })
}

describe('tongban keys reseal', () => {
  it('moves AES-256-GCM values under key A to SM4-GCM under key B: interrupted after one batch, completed by a second run', async () => {
    const vault = new IdentityVault(keyB, { cipher: 'sm4-gcm', previous: [keyA] })
    expectRows(await rows(), vault, Array(CASES).fill(false))

    const progress: number[] = []
    const first = await resealStoredValues(t.runtime.database, resealerOf(vault), {
      batch: 3,
      maxBatches: 1,
      onBatch: (p) => progress.push(p.cases),
    })
    expect(first).toMatchObject({ cases: 3, changed: 3, values: 9, failed: [], done: false })
    expect(progress).toEqual([3])
    const halfway = await rows()
    expect(first.cursor).toBe(halfway[2]!.id)
    expectRows(halfway, vault, [true, true, true, false, false, false, false])
    const header = halfway[0]!.applicant_id_enc.subarray(0, 6)
    expect([...header.subarray(0, 2)]).toEqual([2, 2])
    expect(header.subarray(2).toString('hex')).toBe(vault.keyId)

    const second = await resealStoredValues(t.runtime.database, resealerOf(vault), {
      batch: 3,
      onBatch: (p) => progress.push(p.cases),
    })
    expect(second).toMatchObject({ cases: CASES, changed: 4, values: 12, failed: [], done: true })
    expect(progress).toEqual([3, 3, 6, 7])
    expectRows(await rows(), vault, Array(CASES).fill(true))

    // A third run finds nothing to do.
    expect(await resealStoredValues(t.runtime.database, resealerOf(vault))).toMatchObject({ changed: 0, done: true })

    // The gateway configured with key B (A kept as previous) serves the resealed values to the parties.
    t.runtime.deps.cases.vault = vault
    const [id, want] = [...numbers][0]!
    const res = await xiangyang.call('GET', `/v1/cases/${id}`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.applicant).toMatchObject({ idNumber: want.idNumber, phone: want.phone })
    expect(res.body.form.applicantPhone).toBe(want.phone)
  })

  it('a value that no key given opens is named by its case and left as it is', async () => {
    const stranger = new IdentityVault(randomBytes(32), { cipher: 'sm4-gcm' })
    const report = await resealStoredValues(t.runtime.database, resealerOf(stranger), { batch: 4 })
    expect(report.failed).toHaveLength(CASES)
    expect(report.changed).toBe(0)
    expectRows(await rows(), new IdentityVault(keyB, { cipher: 'sm4-gcm' }), Array(CASES).fill(true))
  })

  it('runs as the CLI with a progress line per batch, and no number in its output', async () => {
    const env = {
      DATABASE_URL: t.databaseUrl,
      TONGBAN_DATA_DIR: t.config.dataDir,
      IDENTITY_KEY: keyC.toString('base64'),
      IDENTITY_KEY_PREVIOUS: `${keyA.toString('base64')}, ${keyB.toString('base64')}`,
      PII_CIPHER: 'aes-256-gcm',
    }
    const stopped = await runCli(['keys', 'reseal', '--batch', '2', '--max-batches', '2'], env)
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stdout).toMatch(/stopped after 2 batch\(es\): run again, or with --after \S+, to finish/)
    const done = await runCli(['keys', 'reseal', '--batch', '2'], env)
    expect(done.code, done.stderr).toBe(0)
    expect(
      done.stderr.match(/^resealed \d+ value\(s\) in \d+ case\(s\); \d+ case\(s\) checked this run/gm),
    ).toHaveLength(4)
    expect(done.stdout).toContain('done: 9 value(s) resealed in 3 case(s) of 7')
    const output = stopped.stdout + stopped.stderr + done.stdout + done.stderr
    for (const { idNumber, phone } of numbers.values()) {
      expect(output).not.toContain(idNumber)
      expect(output).not.toContain(phone)
    }
    expect(await runCli(['keys', 'reseal', '--batch', '0'], env)).toMatchObject({ code: 2 })
    // Each run is one record in the audit trail, as the CLI, naming what it did and never a number.
    const audit = (
      await db.query<{ actor_kind: string; outcome: string; change: { after: { done: boolean; values: number } } }>(
        "select actor_kind, outcome, change from audit_records where action = 'keys.reseal' order by seq",
      )
    ).rows
    expect(audit.map((r) => [r.actor_kind, r.outcome, r.change.after.done])).toEqual([
      ['cli', 'done', false],
      ['cli', 'done', true],
    ])
    expect(audit[1]?.change.after.values).toBe(9)
    expectRows(await rows(), new IdentityVault(keyC, { cipher: 'aes-256-gcm' }), Array(CASES).fill(true))
  }, 120_000)
})
