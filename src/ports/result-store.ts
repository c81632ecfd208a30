import type { ResultClaims } from '../domain/result.js'

export interface StoredResult {
  caseId: string
  jws: string
  claims: ResultClaims
  issuer: string
  kid: string
  /** The gateway signed it for a system that cannot sign (`att: "gateway"`). */
  attested: boolean
  verifiedAt: Date
  /** The origin side's recognition receipt (JWS), once recognised. */
  recognition: string | null
}

/** One result per case; written once. */
export interface ResultStore {
  get(caseId: string): Promise<StoredResult | null>
  /**
   * false when the case already has a result. With `replace`, a result the origin refused is replaced by the
   * corrected one (PROTOCOL 1.1 §4 `recognition_failed`).
   */
  put(result: StoredResult, opts?: { replace?: boolean }): Promise<boolean>
  setRecognition(caseId: string, recognition: string): Promise<void>
}
