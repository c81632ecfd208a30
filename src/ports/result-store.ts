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
  /** false when the case already has a result. */
  put(result: StoredResult): Promise<boolean>
  setRecognition(caseId: string, recognition: string): Promise<void>
}
