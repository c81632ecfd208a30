/** Registering system clients and issuing people's tokens: the verbs behind the CLI and the admin routes. */
import { z } from 'zod'
import { RegionRef } from '../../../config/schema.js'
import { AppError } from '../../errors.js'
import type { Caller, ClientStore, PersonToken, SystemClient, TokenStore } from '../../ports/callers.js'
import type { Clock } from '../../ports/clock.js'
import { newPersonToken } from '../../security/tokens.js'
import { requireAdmin } from '../authz.js'
import type { DirectoryService } from '../directory/snapshot.js'

export interface AdminDeps {
  clients: ClientStore
  tokens: TokenStore
  directory: DirectoryService
  clock: Clock
  /** Hosts a client's JWKS URL may point at. */
  jwksAllowHosts: readonly string[]
  /** Told when a client was added or revoked, so that caches of client records drop it. */
  onClientChanged?: (id: string) => void
}

const Jwk = z
  .looseObject({ kty: z.enum(['EC', 'OKP']), kid: z.string().min(1), crv: z.string(), x: z.string() })
  .refine((k) => !('d' in k), 'a JWKS of public keys only: this key has a private part ("d")')
export const Jwks = z.strictObject({ keys: z.array(Jwk).min(1).max(10) })

export const ClientId = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'lower-case letters, digits, ".", "_" and "-"')

export const AddClientBody = z
  .strictObject({
    id: ClientId,
    name: z.string().min(1).max(100).optional(),
    regions: z.array(RegionRef).min(1).max(50),
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
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).nullable(),
    jwksUrl: z.string().nullable(),
    status: z.enum(['active', 'revoked']),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'SystemClient' })

export function toClientView(c: SystemClient): z.infer<typeof ClientView> {
  return { ...c, createdAt: c.createdAt.toISOString(), revokedAt: c.revokedAt?.toISOString() ?? null }
}

function checkJwksUrl(url: string, allow: readonly string[]): void {
  const u = new URL(url)
  const local = u.hostname === '127.0.0.1' || u.hostname === 'localhost'
  if (u.protocol !== 'https:' && !local) throw new AppError('rule_violation', 'a JWKS URL must use https')
  if (!allow.includes(u.hostname)) {
    throw new AppError('rule_violation', `JWKS host ${u.hostname} is not on the allow-list (JWKS_ALLOW_HOSTS)`)
  }
}

export async function addClient(caller: Caller | null, deps: AdminDeps, body: AddClientBody): Promise<SystemClient> {
  if (caller) requireAdmin(caller)
  const snap = await deps.directory.snapshot()
  const unknown = body.regions.filter((r) => !snap.regions.has(r))
  if (unknown.length) {
    throw new AppError('unknown_region', `unknown region(s): ${unknown.join(', ')}`, {
      errors: unknown.map((r) => ({ path: 'regions', message: `unknown region ${r}` })),
    })
  }
  if (body.jwksUrl) checkJwksUrl(body.jwksUrl, deps.jwksAllowHosts)
  deps.onClientChanged?.(body.id)
  return deps.clients.add({
    id: body.id,
    name: body.name ?? null,
    regions: body.regions,
    jwks: body.jwks ?? null,
    jwksUrl: body.jwksUrl ?? null,
  })
}

export async function listClients(caller: Caller, deps: AdminDeps): Promise<SystemClient[]> {
  requireAdmin(caller)
  return deps.clients.list()
}

export async function getClient(caller: Caller, deps: AdminDeps, id: string): Promise<SystemClient> {
  requireAdmin(caller)
  const c = await deps.clients.get(id)
  if (!c) throw new AppError('not_found', `no client ${id}`)
  return c
}

export async function revokeClient(caller: Caller | null, deps: AdminDeps, id: string): Promise<SystemClient> {
  if (caller) requireAdmin(caller)
  const revoked = await deps.clients.revoke(id, deps.clock.now())
  deps.onClientChanged?.(id)
  return revoked
}

export const CreateTokenBody = z
  .strictObject({
    role: z.enum(['admin', 'operator']),
    region: RegionRef.optional(),
    window: z.string().min(1).max(64).optional(),
    name: z.string().min(1).max(100).optional(),
  })
  .refine((b) => b.role === 'admin' || (b.region !== undefined && b.window !== undefined), {
    message: 'an operator token needs a region and a window',
    path: ['region'],
  })
  .meta({ id: 'CreateToken' })

export const TokenView = z
  .object({
    id: z.string(),
    role: z.enum(['admin', 'operator']),
    region: z.string().nullable(),
    window: z.string().nullable(),
    name: z.string().nullable(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'PersonToken' })

export function toTokenView(t: PersonToken): z.infer<typeof TokenView> {
  return { ...t, createdAt: t.createdAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null }
}

/** Creates a token; the secret is in the answer once and stored only as a hash. `caller` null: the CLI. */
export async function createToken(
  caller: Caller | null,
  deps: AdminDeps,
  body: z.infer<typeof CreateTokenBody>,
): Promise<{ token: string; record: PersonToken }> {
  if (caller) requireAdmin(caller)
  if (body.region !== undefined) {
    const snap = await deps.directory.snapshot()
    if (!snap.regions.has(body.region)) throw new AppError('unknown_region', `unknown region ${body.region}`)
  }
  const fresh = newPersonToken()
  const record = await deps.tokens.create(
    {
      id: fresh.id,
      role: body.role,
      region: body.region ?? null,
      window: body.window ?? null,
      name: body.name ?? null,
    },
    fresh.hash,
  )
  return { token: fresh.token, record }
}

export async function listTokens(caller: Caller, deps: AdminDeps): Promise<PersonToken[]> {
  requireAdmin(caller)
  return deps.tokens.list()
}

export async function revokeToken(caller: Caller | null, deps: AdminDeps, id: string): Promise<PersonToken> {
  if (caller) requireAdmin(caller)
  return deps.tokens.revoke(id, deps.clock.now())
}
