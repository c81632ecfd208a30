/**
 * Keys revoked as compromised, as the running gateway sees them (the rule is domain/key-revocation.ts):
 * a short-lived cache of the store, and the client keys with each client's revoked keys.
 */
import { type Jwks, jwkRevokedAt } from '../domain/key-revocation.js'
import type { KeyRevocation, KeyRevocationStore } from '../ports/key-revocation-store.js'
import type { ClientKeys } from './assertion.js'

/**
 * Every revocation, read from the store at most every `ttlMs` (default 5 s, as client records): a
 * revocation made through this instance applies at once (`invalidate`), on the others within `ttlMs`.
 */
export class KeyRevocations {
  #cache: { at: number; byIssuer: Map<string, Map<string, Date>>; all: KeyRevocation[] } | null = null
  #loading: Promise<void> | null = null

  constructor(
    private readonly store: KeyRevocationStore,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  invalidate(): void {
    this.#cache = null
  }

  async list(): Promise<KeyRevocation[]> {
    await this.#fresh()
    return this.#cache?.all ?? []
  }

  /** kid → revocation time for the keys of `issuer` (empty when none is revoked). */
  async of(issuer: string): Promise<ReadonlyMap<string, Date>> {
    await this.#fresh()
    return this.#cache?.byIssuer.get(issuer) ?? new Map()
  }

  async revokedAt(issuer: string, kid: string): Promise<Date | null> {
    return (await this.of(issuer)).get(kid) ?? null
  }

  async #fresh(): Promise<void> {
    if (this.#cache && this.now() - this.#cache.at < this.ttlMs) return
    this.#loading ??= (async () => {
      try {
        const all = await this.store.list()
        const byIssuer = new Map<string, Map<string, Date>>()
        for (const r of all) {
          const m = byIssuer.get(r.issuer) ?? new Map<string, Date>()
          m.set(r.kid, r.revokedAt)
          byIssuer.set(r.issuer, m)
        }
        this.#cache = { at: this.now(), byIssuer, all }
      } finally {
        this.#loading = null
      }
    })()
    await this.#loading
  }
}

/**
 * The client keys, each client with its revoked keys (which the assertion check then refuses): those
 * recorded here and those its own published JWKS marks with `revokedAt`, as `revokedKeysOf` gives them.
 */
export function withRevocations(
  clients: ClientKeys,
  revokedKeysOf: (clientId: string) => Promise<ReadonlyMap<string, Date>>,
): ClientKeys {
  return {
    async client(id) {
      const found = await clients.client(id)
      if (!found) return null
      const revoked = await revokedKeysOf(id)
      return revoked.size ? { ...found, revokedKeys: revoked } : found
    },
  }
}

/** kid → revocation time of the keys a (marked) JWKS carries with `revokedAt`. */
export function revokedKeysIn(jwks: Jwks | null): ReadonlyMap<string, Date> {
  const out = new Map<string, Date>()
  for (const k of jwks?.keys ?? []) {
    const at = jwkRevokedAt(k)
    if (at && typeof k.kid === 'string') out.set(k.kid, at)
  }
  return out
}
