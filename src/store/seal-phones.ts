/**
 * The one-time step that seals phone numbers stored in clear by versions before migration 18. A SQL migration
 * cannot do it (the identity key never reaches the database), so the gateway does it at start, after the
 * migrations and before serving: each batch encrypts and masks the clear numbers and clears the column in
 * one transaction. It is idempotent and safe with several instances starting at once (rows are locked
 * `for update skip locked`); once no clear number is left it costs one index look-up.
 */
import { sql } from 'drizzle-orm'
import { maskPhone } from '../domain/identity.js'
import type { Logger } from '../logger.js'
import type { IdentityVault } from '../security/pii.js'
import type { Database } from './db.js'

const BATCH = 500
/** More than any real table holds; a bound so that the loop always ends. */
const MAX_BATCHES = 100_000

/**
 * Seals every clear `applicant_phone`; returns how many rows it sealed.
 *
 * @example await sealClearPhones(database, vault, logger)
 */
export async function sealClearPhones(database: Database, vault: IdentityVault, logger?: Logger): Promise<number> {
  let sealed = 0
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const n = await database.transaction(async (tx) => {
      const rows = (
        (await tx.db.execute(
          sql`select id, applicant_phone as phone from cases where applicant_phone is not null
              order by id limit ${BATCH} for update skip locked`,
        )) as unknown as { rows: { id: string; phone: string }[] }
      ).rows
      for (const r of rows) {
        await tx.db.execute(
          sql`update cases set applicant_phone_enc = ${vault.encrypt(r.phone)},
                 applicant_phone_masked = ${maskPhone(r.phone)}, applicant_phone = null
              where id = ${r.id}`,
        )
      }
      return rows.length
    })
    sealed += n
    if (n < BATCH) break
  }
  if (sealed > 0) logger?.info({ sealed }, '已加密存储旧版本明文保存的申请人电话号码')
  return sealed
}
