/**
 * `tongban keys reseal [--batch N] [--after CASE] [--max-batches N]`: seals every stored identity number,
 * phone and personal form value again under the current identity key (IDENTITY_KEY) and cipher (PII_CIPHER),
 * reading the old ones with the keys of IDENTITY_KEY_PREVIOUS. One progress line per batch on stderr; run it
 * again (or with `--after` the last cursor) after an interruption. Values never reach the output.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../../config/env.js'
import { createLogger } from '../logger.js'
import { loadSecrets, openStore } from '../main.js'
import { systemClock } from '../ports/clock.js'
import type { IdentityVault } from '../security/pii.js'
import { cliOrigin, withAuditOrigin } from '../services/audit-trail/context.js'
import { AuditTrail } from '../services/audit-trail/trail.js'
import { resealForm } from '../services/cases/sealed-form.js'
import { PgAuditTrailStore } from '../store/audit-trail-store.js'
import { type Resealer, resealStoredValues } from '../store/reseal.js'

export const RESEAL_USAGE = 'usage: tongban keys reseal [--batch N] [--after CASE] [--max-batches N]'

export function resealerOf(vault: IdentityVault): Resealer {
  return {
    reseal(sealed) {
      if (vault.isCurrent(sealed)) return null
      const plain = vault.decrypt(sealed)
      return { sealed: vault.encrypt(plain), plain }
    },
    lookupHash: (idType, idNumber) => vault.lookupHash(idType, idNumber),
    resealForm: (form) => resealForm(form, vault),
  }
}

const positive = (v: string | undefined) => (v === undefined ? undefined : /^[1-9]\d{0,6}$/.test(v) ? Number(v) : NaN)

export async function resealCommand(args: string[]): Promise<number> {
  let values: { batch?: string | undefined; after?: string | undefined; 'max-batches'?: string | undefined }
  try {
    values = parseArgs({
      args,
      options: { batch: { type: 'string' }, after: { type: 'string' }, 'max-batches': { type: 'string' } },
    }).values
  } catch {
    console.error(RESEAL_USAGE)
    return 2
  }
  const batch = positive(values.batch)
  const maxBatches = positive(values['max-batches'])
  if (Number.isNaN(batch) || Number.isNaN(maxBatches)) {
    console.error(`--batch and --max-batches take a whole number from 1\n${RESEAL_USAGE}`)
    return 2
  }
  const config = loadConfig()
  const logger = createLogger('warn')
  const { vault } = await loadSecrets(config, logger)
  const { database } = await openStore(config, logger)
  const trail = new AuditTrail({ store: new PgAuditTrailStore(database), clock: systemClock, logger })
  try {
    const [{ total } = { total: 0 }] = await database.query<{ total: number }>(
      'select count(*)::int as total from cases',
      [],
    )
    console.error(`resealing under key ${vault.keyId} with ${vault.cipher}: ${total} case(s)`)
    // The reseal is a security action: recorded in the audit trail as `cli` with the OS user (docs/audit.md).
    const report = await withAuditOrigin(cliOrigin(), () =>
      trail.audited(null, 'keys.reseal', 'cases', async () => {
        const r = await resealStoredValues(database, resealerOf(vault), {
          ...(batch !== undefined ? { batch } : {}),
          ...(maxBatches !== undefined ? { maxBatches } : {}),
          after: values.after ?? null,
          onBatch: (p) =>
            console.error(
              `resealed ${p.values} value(s) in ${p.changed} case(s); ${p.cases} case(s) checked this run` +
                `${p.cursor ? `, up to ${p.cursor}` : ''}${p.failed.length ? `; ${p.failed.length} could not be opened` : ''}`,
            ),
        })
        const after = { keyId: vault.keyId, cipher: vault.cipher, values: r.values, cases: r.changed, done: r.done }
        return { value: r, change: { before: null, after: { ...after, failed: r.failed.length } } }
      }),
    )
    for (const id of report.failed) console.log(`NOT RESEALED ${id}: a value could not be opened with the keys given`)
    if (!report.done) {
      console.log(`stopped after ${maxBatches} batch(es): run again, or with --after ${report.cursor}, to finish`)
      return report.failed.length > 0 ? 1 : 0
    }
    console.log(
      `done: ${report.values} value(s) resealed in ${report.changed} case(s) of ${report.cases}; every readable value is under key ${vault.keyId} with ${vault.cipher}`,
    )
    if (report.failed.length > 0) return 1
    if (config.identityKey.previous.length > 0) console.log('IDENTITY_KEY_PREVIOUS is no longer needed for cases')
    return 0
  } finally {
    await trail.flush()
    await database.close()
  }
}
