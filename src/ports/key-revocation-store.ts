/** A signing key revoked as compromised: the gateway's own (issuer = its id) or a system client's. */
export interface KeyRevocation {
  /** The gateway's id for its own keys, else the client id. */
  issuer: string
  kid: string
  /** Signatures whose `iat` is at or after this time are refused; earlier ones still verify. */
  revokedAt: Date
  reason: string | null
  /** Who recorded it (`person:<token id>`, `cli`). */
  recordedBy: string | null
  recordedAt: Date
}

/**
 * Key revocations, kept for ever (evidence checked years later still needs them). `add` of a key already
 * revoked keeps the earlier of the two times: a revocation can be moved earlier, never later.
 */
export interface KeyRevocationStore {
  add(r: Omit<KeyRevocation, 'recordedAt'>): Promise<KeyRevocation>
  list(): Promise<KeyRevocation[]>
}
