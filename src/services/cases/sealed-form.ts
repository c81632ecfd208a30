/**
 * Form values that an item declares personal (`personal: 'identity' | 'phone'` on the form field) are sealed at
 * rest like the applicant's identity number: the stored form holds `{ sealed, masked }` in their place, where
 * `sealed` is the base64 sealed value (security/pii.ts: AES-256-GCM or SM4-GCM under the identity key) and `kind` what it holds. `openForm` gives
 * the real values to the parties' systems and the adapters (the processing side is a party), phone numbers also to
 * the case's own window, and the masked ones to everyone else.
 */
import type { FormField } from '../../../config/schema.js'
import { maskIdentity, maskPhone } from '../../domain/identity.js'
import type { IdentityVault } from '../../security/pii.js'

type PersonalKind = NonNullable<FormField['personal']>

interface SealedValue {
  sealed: string
  masked: string
  kind: PersonalKind
}

function isSealed(v: unknown): v is SealedValue {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as SealedValue).sealed === 'string' &&
    typeof (v as SealedValue).masked === 'string' &&
    ((v as SealedValue).kind === 'identity' || (v as SealedValue).kind === 'phone') &&
    Object.keys(v).length === 3
  )
}

/**
 * The form as stored: each string value of a field declared personal replaced by its sealed form.
 *
 * @example sealForm({ applicantPhone: '13977770007' }, fields, vault) // { applicantPhone: { sealed: '…', masked: '139****0007', kind: 'phone' } }
 */
export function sealForm(
  form: Record<string, unknown>,
  fields: readonly FormField[],
  vault: IdentityVault,
): Record<string, unknown> {
  const personal = new Map(fields.flatMap((f) => (f.personal ? [[f.name, f.personal] as const] : [])))
  if (personal.size === 0) return form
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(form)) {
    const kind = personal.get(k)
    out[k] =
      kind && typeof v === 'string'
        ? {
            sealed: vault.encrypt(v).toString('base64'),
            masked: kind === 'phone' ? maskPhone(v) : maskIdentity(v),
            kind,
          }
        : v
  }
  return out
}

/** The stored form as a caller sees it: each sealed value opened when `reveal` says so for its kind, masked otherwise. */
export function openForm(
  form: Record<string, unknown>,
  vault: IdentityVault,
  reveal: boolean | ((kind: PersonalKind) => boolean),
): Record<string, unknown> {
  let out: Record<string, unknown> | undefined
  for (const [k, v] of Object.entries(form)) {
    if (!isSealed(v)) continue
    out ??= { ...form }
    const open = typeof reveal === 'boolean' ? reveal : reveal(v.kind)
    out[k] = open ? vault.decrypt(Buffer.from(v.sealed, 'base64')) : v.masked
  }
  return out ?? form
}

/**
 * The stored form with each sealed value that is not under the vault's current key and cipher sealed again
 * (`tongban keys reseal`); null when every value already is. Throws like `decrypt` for a value it cannot open.
 */
export function resealForm(form: Record<string, unknown>, vault: IdentityVault): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null
  for (const [k, v] of Object.entries(form)) {
    if (!isSealed(v) || vault.isCurrent(Buffer.from(v.sealed, 'base64'))) continue
    out ??= { ...form }
    out[k] = { ...v, sealed: vault.encrypt(vault.decrypt(Buffer.from(v.sealed, 'base64'))).toString('base64') }
  }
  return out
}
