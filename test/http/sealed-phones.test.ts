/**
 * Phones sealed at rest like identity numbers: stored only encrypted with a masked copy, shown in full only to
 * the parties' systems and the window that collected the case, masked to everyone else; phones stored in clear by an earlier version are
 * sealed by the one-time step at start.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toOutbound } from '../../src/services/dispatch/deliver.js'
import { sealClearPhones } from '../../src/store/seal-phones.js'
import { applicant, hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let db: pg.Client
let n = 0
const key = () => ({ 'idempotency-key': `phone-${n++}` })
const phone = '13977770007'

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300'])
  xiangyang = await t.client('xiangyang-gov', ['420600'])
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
})
afterAll(async () => {
  await db?.end()
  await t?.close()
})

async function createCase(ref: string): Promise<string> {
  const res = await shiyan.call(
    'POST',
    '/v1/cases',
    hukouCertificate({
      externalRef: ref,
      applicant: { ...applicant, phone },
      form: { applicantName: '张三', applicantPhone: phone, certificateType: '户籍证明', purpose: '办理入学' },
    }),
    key(),
  )
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  // The submitter's system sees what it sent, also in a replay; the stored answer holds it masked.
  expect(res.body.case.applicant.phone).toBe(phone)
  expect(res.body.case.form.applicantPhone).toBe(phone)
  const stored = (
    await db.query('select body from idempotency_keys where body @> $1', [{ case: { id: res.body.case.id } }])
  ).rows[0]
  expect(JSON.stringify(stored.body)).not.toContain(phone)
  return res.body.case.id
}

describe('applicant phone numbers', () => {
  it('are stored only sealed, with a masked copy', async () => {
    const id = await createCase('ZW-PHONE-1')
    const row = (await db.query('select * from cases where id = $1', [id])).rows[0]
    expect(row.applicant_phone).toBeNull()
    expect(row.applicant_phone_masked).toBe('139****0007')
    expect(Buffer.from(row.applicant_phone_enc).toString('latin1')).not.toContain(phone)
    expect(t.runtime.deps.cases.vault.decrypt(row.applicant_phone_enc)).toBe(phone)
    expect(JSON.stringify(row)).not.toContain(phone)
  })

  it('are shown in full to the parties’ systems and the window that collected the case, masked to others', async () => {
    const id = await createCase('ZW-PHONE-2')
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body.applicant.phone).toBe(phone)
    expect((await xiangyang.call('GET', `/v1/cases/${id}`)).body.applicant.phone).toBe(phone)
    const admin = await t.admin('GET', `/v1/cases/${id}`)
    expect(admin.status).toBe(200)
    expect(admin.body.applicant.phone).toBe('139****0007')
    const operator = await t.operator('420303', 'ZW-PHONE')
    const created = await operator.call(
      'POST',
      '/v1/cases',
      hukouCertificate({ externalRef: undefined, applicant: { ...applicant, phone } }),
      key(),
    )
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    // The clerk of the window that collected the case calls the applicant back: the number in full.
    expect(created.body.case.applicant.phone).toBe(phone)
    expect((await operator.call('GET', `/v1/cases/${created.body.case.id}`)).body.applicant.phone).toBe(phone)
    // An admin of the gateway is no party: masked.
    expect((await t.admin('GET', `/v1/cases/${created.body.case.id}`)).body.applicant.phone).toBe('139****0007')
  })

  it('stored in clear by an earlier version are sealed once at start', async () => {
    const id = await createCase('ZW-PHONE-3')
    await db.query(
      'update cases set applicant_phone = $2, applicant_phone_enc = null, applicant_phone_masked = null where id = $1',
      [id, '+86-13900001111'],
    )
    expect(await sealClearPhones(t.runtime.database, t.runtime.deps.cases.vault)).toBe(1)
    const row = (await db.query('select * from cases where id = $1', [id])).rows[0]
    expect(row.applicant_phone).toBeNull()
    expect(row.applicant_phone_masked).toBe('+86********1111')
    expect(t.runtime.deps.cases.vault.decrypt(row.applicant_phone_enc)).toBe('+86-13900001111')
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body.applicant.phone).toBe('+86-13900001111')
    // Idempotent: nothing left to seal.
    expect(await sealClearPhones(t.runtime.database, t.runtime.deps.cases.vault)).toBe(0)
  })
})

describe('form fields declared personal', () => {
  it('are stored sealed, shown in full to the parties’ systems, masked to people, delivered in full', async () => {
    const id = await createCase('ZW-FORM-1')
    const row = (await db.query('select form from cases where id = $1', [id])).rows[0]
    expect(row.form.applicantPhone).toEqual({ sealed: expect.any(String), masked: '139****0007', kind: 'phone' })
    expect(JSON.stringify(row.form)).not.toContain(phone)
    // A field not declared personal stays as it was.
    expect(row.form.purpose).toBe('办理入学')
    expect((await shiyan.call('GET', `/v1/cases/${id}`)).body.form.applicantPhone).toBe(phone)
    expect((await xiangyang.call('GET', `/v1/cases/${id}`)).body.form.applicantPhone).toBe(phone)
    expect((await t.admin('GET', `/v1/cases/${id}`)).body.form).toMatchObject({
      applicantPhone: '139****0007',
      purpose: '办理入学',
    })
    // What the adapters get (peer gateway, REST, manual): the processing side is a party.
    const stored = await t.runtime.deps.cases.cases.get(id)
    const outbound = await toOutbound(t.runtime.deps.cases, stored!)
    expect(outbound.form.applicantPhone).toBe(phone)
    expect(outbound.applicant.phone).toBe(phone)
  })
})
