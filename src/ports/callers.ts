/**
 * Who is calling: a registered system client (per-request signed assertion, PROTOCOL §2) or a person
 * (a bearer token issued by an admin). Produced by the authentication middleware, consumed by services.
 */

/**
 * A person's role. `operator`: a window clerk. The administration is split in three (三员分立): `admin`
 * configures (regions, items, agreements, bindings, clients), `security` manages tokens, keys and
 * revocations, `auditor` reads the audit trail and the reports and changes nothing.
 */
export type Role = 'admin' | 'operator' | 'security' | 'auditor'

export const ROLES: readonly Role[] = ['admin', 'operator', 'security', 'auditor']

export interface ClientCaller {
  kind: 'client'
  /** The client id (`iss` = `sub` of its assertions). */
  id: string
  /** Region codes (or zone ids) it acts for; each covers its descendants. */
  regions: string[]
  /**
   * (PROTOCOL 1.1 §2) The department codes it is limited to: it sees and acts on only the cases of those
   * departments' items. Null or absent: every department of its regions.
   */
  departments?: string[] | null
  /** The verified assertion: kept with a case as the submitter's signature over the exact body. */
  assertion: {
    token: string
    jti: string
    kid: string
    /** Its signature algorithm (ES256, EdDSA or SM2): answers to it (receipts) are signed in kind. */
    alg?: string
    bodyHash: string | null
    /**
     * Set when the jti was not claimed at authentication but is left to the request's own write (intake
     * records it in PostgreSQL in its statement, so that a submission needs no Redis): until the assertion
     * can no longer be accepted (`exp` + leeway). Whoever records it sets `claimed`; authentication records
     * it after the request otherwise (a request refused before the service ran).
     */
    deferredReplay?: { expiresAt: Date; claimed: boolean }
  }
}

export interface PersonCaller {
  kind: 'person'
  /** The token id (not the secret). */
  id: string
  role: Role
  /** For operators: the region they act for and their window. */
  region: string | null
  window: string | null
  name: string | null
  /** (PROTOCOL 1.1 §2) The department codes the token is limited to; null or absent: not limited. */
  departments?: string[] | null
}

export type Caller = ClientCaller | PersonCaller

/** A registered system client (a region's system or a peer gateway). */
export interface SystemClient {
  id: string
  name: string | null
  regions: string[]
  /** The department codes it is limited to (PROTOCOL 1.1 §2); null: not limited. */
  departments?: string[] | null
  /** Inline public keys, or … */
  jwks: { keys: Record<string, unknown>[] } | null
  /** … a JWKS URL on the allow-list, fetched with a timeout and cached. */
  jwksUrl: string | null
  status: 'active' | 'revoked'
  createdAt: Date
  revokedAt: Date | null
}

/**
 * Registered system clients. `remove` revokes (the row is kept so that old assertions and evidence
 * still name a known client); a revoked client is refused from then on.
 */
export interface ClientStore {
  add(client: {
    id: string
    name?: string | null
    regions: string[]
    departments?: string[] | null
    jwks?: SystemClient['jwks']
    jwksUrl?: string | null
  }): Promise<SystemClient>
  get(id: string): Promise<SystemClient | null>
  list(): Promise<SystemClient[]>
  /** Replaces the inline JWKS (key rotation on the client's side). */
  setKeys(id: string, jwks: SystemClient['jwks'], jwksUrl: string | null): Promise<SystemClient>
  revoke(id: string, at: Date): Promise<SystemClient>
}

/** A person's token as stored: never the secret, only its hash. */
export interface PersonToken {
  id: string
  role: Role
  region: string | null
  window: string | null
  name: string | null
  /** The department codes the token is limited to (PROTOCOL 1.1 §2); null or absent: not limited. */
  departments?: string[] | null
  createdAt: Date
  revokedAt: Date | null
}

export interface TokenStore {
  /** Stores a token by the SHA-256 of its secret. */
  create(token: Omit<PersonToken, 'createdAt' | 'revokedAt'>, secretHash: Buffer): Promise<PersonToken>
  /** The token whose secret hashes to `secretHash`, revoked or not; null when none. */
  findByHash(secretHash: Buffer): Promise<PersonToken | null>
  list(): Promise<PersonToken[]>
  revoke(id: string, at: Date): Promise<PersonToken>
}

/**
 * Remembers assertion `jti`s until they expire, so a second use is refused.
 * `claim` returns true the first time a (client, jti) pair is seen before `expiresAt`, false after.
 */
export interface ReplayGuard {
  claim(clientId: string, jti: string, expiresAt: Date): Promise<boolean>
}
