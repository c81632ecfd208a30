/**
 * Revoking a signing key as compromised: one of this gateway's own keys, or a key of a
 * registered system client, from a given time. Signatures made with it at or after that time (by their
 * `iat`) are refused everywhere (results, assertions, receipts and recognitions in evidence bundles);
 * earlier ones still verify. The gateway's revoked keys stay published with `revokedAt`.
 */
import { z } from 'zod'
import type { Jwks } from '../../domain/key-revocation.js'
import { AppError } from '../../errors.js'
import type { Caller, ClientStore } from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import type { KeyRevocation, KeyRevocationStore } from '../../ports/key-revocation-store.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { requireDuty } from '../authz.js'
import type { Ctx } from '../context.js'

export const RevokeKeyBody = z
  .strictObject({
    issuer: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'A client id, or this gateway’s id (the default) for its own keys' }),
    kid: z.string().min(1).max(200),
    revokedAt: z.iso
      .datetime({ offset: true })
      .meta({ description: 'From when the key counts as compromised: signatures with `iat` at or after it fail' }),
    reason: z.string().min(1).max(500).optional(),
  })
  .meta({ id: 'RevokeKey' })
export type RevokeKeyBody = z.infer<typeof RevokeKeyBody>

export const KeyRevocationView = z
  .object({
    issuer: z.string(),
    kid: z.string(),
    revokedAt: z.string(),
    reason: z.string().nullable(),
    recordedBy: z.string().nullable(),
    recordedAt: z.string(),
  })
  .meta({ id: 'KeyRevocation' })

export function toRevocationView(r: KeyRevocation): z.infer<typeof KeyRevocationView> {
  return { ...r, revokedAt: r.revokedAt.toISOString(), recordedAt: r.recordedAt.toISOString() }
}

export interface KeyAdminDeps {
  gatewayId: string
  /** The gateway's key set: the kid it signs with, and every published key. */
  gatewayKeys: () => { currentKid: string; inUse?: string[]; jwks: Jwks }
  clients: Pick<ClientStore, 'get'>
  store: KeyRevocationStore
  /** Told after a change (drops cached revocations). */
  onChanged?: () => void
  clock: Clock
  /** The audit trail every revocation is recorded in. */
  trail?: AuditTrail | undefined
}

/** Records a revocation; `caller` null is the CLI. Revoking again may only move the time earlier. */
export async function revokeKey(
  { caller, deps }: Ctx<KeyAdminDeps, Caller | null>,
  body: RevokeKeyBody,
): Promise<KeyRevocation> {
  const issuer = body.issuer ?? deps.gatewayId
  return auditedBy(deps.trail, caller, 'key.revoke', `key:${issuer}/${body.kid}`, async () => {
    const recorded = await revokeKeyUnaudited(caller, deps, body)
    return {
      value: recorded,
      change: { before: null, after: { revokedAt: recorded.revokedAt, reason: recorded.reason } },
    }
  })
}

async function revokeKeyUnaudited(
  caller: Caller | null,
  deps: KeyAdminDeps,
  body: RevokeKeyBody,
): Promise<KeyRevocation> {
  if (caller) requireDuty(caller, 'secure')
  const issuer = body.issuer ?? deps.gatewayId
  const unknownKey = () =>
    new AppError('rule_violation', `${issuer} has no key ${body.kid}`, {
      errors: [{ path: 'kid', message: 'not a key of this issuer' }],
    })
  if (issuer === deps.gatewayId) {
    const own = deps.gatewayKeys()
    if (!own.jwks.keys.some((k) => k.kid === body.kid)) throw unknownKey()
    if (own.currentKid === body.kid || own.inUse?.includes(body.kid)) {
      throw new AppError(
        'conflict',
        `key ${body.kid} is the one the gateway signs with: rotate first (tongban keys rotate, then restart), then revoke it`,
      )
    }
  } else {
    const client = await deps.clients.get(issuer)
    if (!client) throw new AppError('not_found', `no client ${issuer}`)
    // Keys behind a JWKS URL may have left it already: any kid is taken for those.
    if (client.jwks && !client.jwks.keys.some((k) => k.kid === body.kid)) throw unknownKey()
  }
  const recorded = await deps.store.add({
    issuer,
    kid: body.kid,
    revokedAt: new Date(body.revokedAt),
    reason: body.reason ?? null,
    recordedBy: caller ? `${caller.kind}:${caller.id}` : 'cli',
  })
  deps.onChanged?.()
  return recorded
}

export async function listKeyRevocations({ caller, deps }: Ctx<KeyAdminDeps, Caller | null>): Promise<KeyRevocation[]> {
  if (caller) requireDuty(caller, 'secure')
  return deps.store.list()
}
