/**
 * `tongban keys reseal`: seals every stored identity number, phone and personal form value again under the
 * current identity key and `PII_CIPHER`, and recomputes the identity look-up hash with them. It walks `cases`
 * in id order (keyset pagination: `id > cursor … limit n`), one transaction per batch with the batch's rows
 * locked, so it never holds the whole table and a gateway may keep running meanwhile. A value already under
 * the current key and cipher is left alone, so a run that was interrupted is completed by running it again
 * (or resumed from the last cursor it printed with `after`).
 */
import { sql } from 'drizzle-orm'
import type { Database } from './db.js'

/** What the reseal needs of the identity vault and the sealed form (composed by the CLI). */
export interface Resealer {
  /** The value sealed again under the current key and cipher, with its plaintext; null when it already is. */
  reseal(sealed: Buffer): { sealed: Buffer; plain: string } | null
  /** The look-up hash under the current key (security/pii.ts `lookupHash`). */
  lookupHash(idType: string, idNumber: string): Buffer
  /** The form with its sealed values sealed again; null when none needed it. */
  resealForm(form: Record<string, unknown>): Record<string, unknown> | null
}

export interface ResealProgress {
  /** Cases looked at so far in this run. */
  cases: number
  /** Cases whose values were sealed again. */
  changed: number
  /** Values sealed again (identity numbers, phones, form values). */
  values: number
  /** Cases whose values could not be opened (unknown key, altered): left as they are, named by id. */
  failed: string[]
  /** The last case id done: `after` resumes from here. */
  cursor: string | null
  /** Whether the walk reached the end of the table. */
  done: boolean
}

interface Row {
  id: string
  id_type: string
  id_enc: Buffer
  phone_enc: Buffer | null
  form: Record<string, unknown>
}

const asBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array))

/**
 * Reseals in batches of `batch` cases (default 500) from the case after `after` (default: the first), calling
 * `onBatch` after each committed batch; stops after `maxBatches` batches (default: none) with `done: false`.
 *
 * @example await resealStoredValues(database, resealer, { onBatch: (p) => console.error(`${p.cases} cases`) })
 */
export async function resealStoredValues(
  database: Database,
  resealer: Resealer,
  opts: { batch?: number; after?: string | null; maxBatches?: number; onBatch?: (p: ResealProgress) => void } = {},
): Promise<ResealProgress> {
  const batch = opts.batch ?? 500
  const progress: ResealProgress = {
    cases: 0,
    changed: 0,
    values: 0,
    failed: [],
    cursor: opts.after ?? null,
    done: false,
  }
  for (let n = 0; opts.maxBatches === undefined || n < opts.maxBatches; n++) {
    const seen = await database.transaction(async (tx) => {
      const cursor = progress.cursor
      const rows = (
        (await tx.db.execute(
          sql`select id, applicant_id_type as id_type, applicant_id_enc as id_enc, applicant_phone_enc as phone_enc, form
              from cases where ${cursor === null ? sql`true` : sql`id > ${cursor}`}
              order by id limit ${batch} for update`,
        )) as unknown as { rows: Row[] }
      ).rows
      for (const r of rows) {
        try {
          const id = resealer.reseal(asBuffer(r.id_enc))
          const phone = r.phone_enc === null ? null : resealer.reseal(asBuffer(r.phone_enc))
          const form = resealer.resealForm(r.form)
          const values = (id ? 1 : 0) + (phone ? 1 : 0) + (form ? countChanged(r.form, form) : 0)
          if (values > 0) {
            await tx.db.execute(
              sql`update cases set
                    applicant_id_enc = ${id ? id.sealed : asBuffer(r.id_enc)},
                    applicant_id_hmac = ${id ? resealer.lookupHash(r.id_type, id.plain) : sql`applicant_id_hmac`},
                    applicant_phone_enc = ${phone ? phone.sealed : r.phone_enc === null ? null : asBuffer(r.phone_enc)},
                    form = ${form ? JSON.stringify(form) : JSON.stringify(r.form)}::jsonb
                  where id = ${r.id}`,
            )
            progress.changed += 1
            progress.values += values
          }
        } catch {
          // The error would name only the key id; the case id lets an operator look.
          progress.failed.push(r.id)
        }
      }
      return rows
    })
    progress.cases += seen.length
    if (seen.length > 0) progress.cursor = seen.at(-1)?.id ?? progress.cursor
    if (seen.length < batch) progress.done = true
    opts.onBatch?.({ ...progress, failed: [...progress.failed] })
    if (progress.done) break
  }
  return progress
}

function countChanged(before: Record<string, unknown>, after: Record<string, unknown>): number {
  return Object.keys(after).filter((k) => after[k] !== before[k]).length
}
