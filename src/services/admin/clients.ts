/** Registering system clients and issuing people's tokens: the verbs behind the CLI and the admin routes. */
import { z } from 'zod'
import { RegionRef } from '../../../config/schema.js'
import { AppError } from '../../errors.js'
import {
  type Caller,
  type ClientStore,
  type PersonToken,
  ROLES,
  type SystemClient,
  type TokenStore,
} from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import { newPersonToken } from '../../security/tokens.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { hasDuty, isAdmin, requireAdmin, requireDuty } from '../authz.js'
import type { Ctx } from '../context.js'
import type { DirectoryService } from '../directory/snapshot.js'

export interface AdminDeps {
  clients: ClientStore
  tokens: TokenStore
  directory: DirectoryService
  clock: Clock
  /** Hosts a client's JWKS URL may point at. */
  jwksAllowHosts: readonly string[]
  /** Told when a client was added, revoked or given new keys, so that caches of client records drop it. */
  onClientChanged?: (id: string) => void
  /** The audit trail every action is recorded in (unset in some unit tests: not recorded). */
  trail?: AuditTrail | undefined
}

const kidsOf = (c: Pick<SystemClient, 'jwks' | 'jwksUrl'>) =>
  c.jwks ? { kids: c.jwks.keys.map((k) => String(k.kid)) } : { jwksUrl: c.jwksUrl }

const Jwk = z
  .looseObject({ kty: z.enum(['EC', 'OKP']), kid: z.string().min(1), crv: z.string(), x: z.string() })
  .refine((k) => !('d' in k), 'a JWKS of public keys only: this key has a private part ("d")')
export const Jwks = z.strictObject({ keys: z.array(Jwk).min(1).max(10) })

/** Department codes (the items' `departmentCode`) a caller is limited to (PROTOCOL 1.1 §2). */
export const Departments = z
  .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a department code such as public-security'))
  .min(1)
  .max(30)
  .meta({
    description:
      'Limit to the cases of these departments’ items (department codes, e.g. `public-security`); left out: every department',
  })

/** Refuses department codes that no item of the directory has (a typo would lock the caller out). */
async function checkDepartments(deps: AdminDeps, departments: string[] | undefined): Promise<void> {
  if (!departments) return
  const snap = await deps.directory.snapshot()
  const known = new Set([...snap.items.values()].map((i) => i.departmentCode))
  const unknown = departments.filter((d) => !known.has(d))
  if (unknown.length) {
    throw new AppError('validation_failed', `no item of department ${unknown.join(', ')}`, {
      errors: unknown.map((d) => ({ path: 'departments', message: `unknown department ${d}` })),
    })
  }
}

export const ClientId = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'lower-case letters, digits, ".", "_" and "-"')

export const AddClientBody = z
  .strictObject({
    id: ClientId,
    name: z.string().min(1).max(100).optional(),
    regions: z.array(RegionRef).min(1).max(50),
    departments: Departments.optional(),
    jwks: Jwks.optional(),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((b) => (b.jwks === undefined) !== (b.jwksUrl === undefined), {
    message: 'give exactly one of `jwks` and `jwksUrl`',
    path: ['jwks'],
  })
  .meta({ id: 'AddClient' })
export type AddClientBody = z.infer<typeof AddClientBody>

export const ClientView = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    regions: z.array(z.string()),
    departments: z.array(z.string()).nullable().meta({ description: 'The departments it is limited to; null: all' }),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).nullable(),
    jwksUrl: z.string().nullable(),
    status: z.enum(['active', 'revoked']),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'SystemClient' })

export function toClientView(c: SystemClient): z.infer<typeof ClientView> {
  return {
    ...c,
    departments: c.departments ?? null,
    createdAt: c.createdAt.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
  }
}

function checkJwksUrl(url: string, allow: readonly string[]): void {
  const u = new URL(url)
  const local = u.hostname === '127.0.0.1' || u.hostname === 'localhost'
  if (u.protocol !== 'https:' && !local) throw new AppError('rule_violation', 'a JWKS URL must use https')
  if (!allow.includes(u.hostname)) {
    throw new AppError('rule_violation', `JWKS host ${u.hostname} is not on the allow-list (JWKS_ALLOW_HOSTS)`)
  }
}

export async function addClient(
  { caller, deps }: Ctx<AdminDeps, Caller | null>,
  body: AddClientBody,
): Promise<SystemClient> {
  return auditedBy(deps.trail, caller, 'client.register', `client:${body.id}`, async () => {
    const added = await addClientUnaudited(caller, deps, body)
    const after = { name: added.name, regions: added.regions, departments: added.departments ?? null, ...kidsOf(added) }
    return { value: added, change: { before: null, after } }
  })
}

async function addClientUnaudited(caller: Caller | null, deps: AdminDeps, body: AddClientBody): Promise<SystemClient> {
  if (caller) requireAdmin(caller)
  const snap = await deps.directory.snapshot()
  const unknown = body.regions.filter((r) => !snap.regions.has(r))
  if (unknown.length) {
    throw new AppError('unknown_region', `unknown region(s): ${unknown.join(', ')}`, {
      errors: unknown.map((r) => ({ path: 'regions', message: `unknown region ${r}` })),
    })
  }
  if (body.jwksUrl) checkJwksUrl(body.jwksUrl, deps.jwksAllowHosts)
  await checkDepartments(deps, body.departments)
  deps.onClientChanged?.(body.id)
  return deps.clients.add({
    id: body.id,
    name: body.name ?? null,
    regions: body.regions,
    departments: body.departments ?? null,
    jwks: body.jwks ?? null,
    jwksUrl: body.jwksUrl ?? null,
  })
}

export async function listClients({ caller, deps }: Ctx<AdminDeps>): Promise<SystemClient[]> {
  requireDuty(caller, 'configure', 'secure')
  return deps.clients.list()
}

export async function getClient({ caller, deps }: Ctx<AdminDeps>, id: string): Promise<SystemClient> {
  requireDuty(caller, 'configure', 'secure')
  const c = await deps.clients.get(id)
  if (!c) throw new AppError('not_found', `no client ${id}`)
  return c
}

export async function revokeClient({ caller, deps }: Ctx<AdminDeps, Caller | null>, id: string): Promise<SystemClient> {
  return auditedBy(deps.trail, caller, 'client.revoke', `client:${id}`, async () => {
    if (caller) requireAdmin(caller)
    const before = await deps.clients.get(id)
    const revoked = await deps.clients.revoke(id, deps.clock.now())
    deps.onClientChanged?.(id)
    return {
      value: revoked,
      change: {
        before: { status: before?.status ?? null },
        after: { status: revoked.status, revokedAt: revoked.revokedAt },
      },
    }
  })
}

export const ReplaceClientKeysBody = z
  .strictObject({
    jwks: Jwks,
    keep: z
      .union([z.boolean(), z.array(z.string().min(1)).max(10)])
      .describe(
        'the registered keys to keep beside `jwks`: `true` all of them (a rotation: publish the new key beside the old one), `false` none, or a list of kids',
      ),
  })
  .meta({ id: 'ReplaceClientKeys' })
export type ReplaceClientKeysBody = z.infer<typeof ReplaceClientKeysBody>

type JwkEntry = NonNullable<SystemClient['jwks']>['keys'][number]

/** The public part of a key, for telling "the same key published again" from "another key under the same kid". */
function keyMaterial(k: JwkEntry): string {
  return JSON.stringify([k.kty, k.crv, k.x, k.y])
}

/**
 * Replaces a client's inline JWKS: `body.jwks` plus the registered keys that `body.keep` names. A key that is
 * both kept and sent again (same kid, same public key) is stored once; the same kid with another key is
 * refused, as is a `keep` kid that is not registered, a client whose keys are at a JWKS URL, a revoked client,
 * and more than 10 keys in all. Dropped keys no longer verify anything here (assertions, results, the
 * client's keys in evidence bundles): drop a key once nothing still needs it checked, and revoke it from a
 * time (`revokeKey`) if it was compromised. `caller` null: the CLI.
 */
export async function replaceClientKeys(
  { caller, deps }: Ctx<AdminDeps, Caller | null>,
  { id, body }: { id: string; body: ReplaceClientKeysBody },
): Promise<{ client: SystemClient; kept: string[]; dropped: string[] }> {
  return auditedBy(deps.trail, caller, 'client.keys.replace', `client:${id}`, async () => {
    const before = await deps.clients.get(id)
    const done = await replaceClientKeysUnaudited(caller, deps, id, body)
    return {
      value: done,
      change: {
        before: before ? kidsOf(before) : null,
        after: kidsOf(done.client),
        kept: done.kept,
        dropped: done.dropped,
      },
    }
  })
}

async function replaceClientKeysUnaudited(
  caller: Caller | null,
  deps: AdminDeps,
  id: string,
  body: ReplaceClientKeysBody,
): Promise<{ client: SystemClient; kept: string[]; dropped: string[] }> {
  if (caller) requireDuty(caller, 'secure')
  const current = await deps.clients.get(id)
  if (!current) throw new AppError('not_found', `no client ${id}`)
  if (current.status === 'revoked') throw new AppError('conflict', `client ${id} is revoked`)
  if (!current.jwks) {
    throw new AppError('conflict', `client ${id} publishes its keys at a JWKS URL: change them there`)
  }
  const old = current.jwks.keys as JwkEntry[]
  const oldKids = new Set(old.map((k) => String(k.kid)))
  if (Array.isArray(body.keep)) {
    const unknown = body.keep.filter((kid) => !oldKids.has(kid))
    if (unknown.length) {
      throw new AppError('rule_violation', `client ${id} has no key ${unknown.join(', ')} to keep`, {
        errors: unknown.map((kid) => ({ path: 'keep', message: `no registered key ${kid}` })),
      })
    }
  }
  const keepSet = body.keep === true ? oldKids : new Set(body.keep === false ? [] : body.keep)
  const kept = old.filter((k) => keepSet.has(String(k.kid)))
  const incoming = body.jwks.keys as JwkEntry[]
  const seen = new Map<string, string>()
  const keys: JwkEntry[] = []
  for (const k of [...kept, ...incoming]) {
    const kid = String(k.kid)
    const material = keyMaterial(k)
    const prior = seen.get(kid)
    if (prior === undefined) {
      seen.set(kid, material)
      keys.push(k)
    } else if (prior !== material) {
      throw new AppError('rule_violation', `kid ${kid} names two different keys: give the new key its own kid`, {
        errors: [{ path: 'jwks.keys', message: `kid ${kid} is already registered for another key` }],
      })
    }
  }
  if (keys.length > 10) {
    throw new AppError('rule_violation', `a client may have at most 10 keys (${keys.length} with those kept)`)
  }
  const client = await deps.clients.setKeys(id, { keys }, null)
  deps.onClientChanged?.(id)
  const now = new Set(keys.map((k) => String(k.kid)))
  return { client, kept: kept.map((k) => String(k.kid)), dropped: [...oldKids].filter((kid) => !now.has(kid)) }
}

export const CreateTokenBody = z
  .strictObject({
    role: z.enum(ROLES),
    region: RegionRef.optional(),
    window: z.string().min(1).max(64).optional(),
    name: z.string().min(1).max(100).optional(),
    departments: Departments.optional(),
  })
  .refine((b) => b.role !== 'operator' || (b.region !== undefined && b.window !== undefined), {
    message: 'an operator token needs a region and a window',
    path: ['region'],
  })
  .meta({ id: 'CreateToken' })

export const TokenView = z
  .object({
    id: z.string(),
    role: z.enum(ROLES),
    region: z.string().nullable(),
    window: z.string().nullable(),
    name: z.string().nullable(),
    departments: z.array(z.string()).nullable().meta({ description: 'The departments it is limited to; null: all' }),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'PersonToken' })

export function toTokenView(t: PersonToken): z.infer<typeof TokenView> {
  return {
    ...t,
    departments: t.departments ?? null,
    createdAt: t.createdAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
  }
}

/**
 * Creates a token; the secret is in the answer once and stored only as a hash. `caller` null: the CLI.
 * Tokens are the security administrator's (`security`); an `admin` may issue only the first `security` and
 * the first `auditor` token (the bootstrap of a new installation, whose first-start token is an admin).
 */
export async function createToken(
  { caller, deps }: Ctx<AdminDeps, Caller | null>,
  body: z.infer<typeof CreateTokenBody>,
): Promise<{ token: string; record: PersonToken }> {
  return auditedBy(deps.trail, caller, 'token.issue', null, async () => {
    const issued = await createTokenUnaudited(caller, deps, body)
    const { createdAt: _c, revokedAt: _r, ...after } = issued.record
    return { value: issued, target: `token:${issued.record.id}`, change: { before: null, after } }
  })
}

async function createTokenUnaudited(
  caller: Caller | null,
  deps: AdminDeps,
  body: z.infer<typeof CreateTokenBody>,
): Promise<{ token: string; record: PersonToken }> {
  if (caller && !hasDuty(caller, 'secure')) {
    if (!isAdmin(caller)) requireDuty(caller, 'secure')
    if (body.role !== 'security' && body.role !== 'auditor') {
      throw new AppError(
        'forbidden',
        'an admin issues only the first security and auditor tokens (the bootstrap); a security administrator issues the others',
      )
    }
    if ((await deps.tokens.list()).some((t) => t.role === body.role)) {
      throw new AppError(
        'forbidden',
        `the first ${body.role} token was issued already: further ones are issued by a security administrator`,
      )
    }
  }
  if (body.region !== undefined) {
    const snap = await deps.directory.snapshot()
    if (!snap.regions.has(body.region)) throw new AppError('unknown_region', `unknown region ${body.region}`)
  }
  await checkDepartments(deps, body.departments)
  const fresh = newPersonToken()
  const record = await deps.tokens.create(
    {
      id: fresh.id,
      role: body.role,
      region: body.region ?? null,
      window: body.window ?? null,
      name: body.name ?? null,
      departments: body.departments ?? null,
    },
    fresh.hash,
  )
  return { token: fresh.token, record }
}

export async function listTokens({ caller, deps }: Ctx<AdminDeps>): Promise<PersonToken[]> {
  requireDuty(caller, 'secure')
  return deps.tokens.list()
}

export async function revokeToken({ caller, deps }: Ctx<AdminDeps, Caller | null>, id: string): Promise<PersonToken> {
  return auditedBy(deps.trail, caller, 'token.revoke', `token:${id}`, async () => {
    if (caller) requireDuty(caller, 'secure')
    const revoked = await deps.tokens.revoke(id, deps.clock.now())
    return {
      value: revoked,
      change: { before: null, after: { role: revoked.role, name: revoked.name, revokedAt: revoked.revokedAt } },
    }
  })
}
