/**
 * How a result names its applicant (PROTOCOL 1.1 §5): `idSalt` = base64url of 16 random bytes and `idDigest`
 * = base64url(scrypt(`idType:idNumber` as UTF-8, salt = the decoded `idSalt`, N = 32768, r = 8, p = 1, 32
 * bytes)). v1's unsalted `idHash` (base64url SHA-256 of `idType:idNumber`) can be reversed by trying every
 * plausible number; it is still accepted from v1 issuers but never produced. scrypt runs on libuv's thread
 * pool (node's async `crypto.scrypt`), so a digest (about 32 MiB and tens of milliseconds) never blocks the
 * event loop. Nothing here logs or echoes its inputs.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { applicantIdHash } from './pii.js'

/** PROTOCOL §5's parameters, fixed: a change is a new protocol version. */
export const APPLICANT_SCRYPT = { N: 32768, r: 8, p: 1, keyBytes: 32, saltBytes: 16 } as const
// 128 · N · r = 32 MiB, plus OpenSSL's own accounting: node's default limit (32 MiB) is just too small.
const MAX_MEMORY = 64 * 1024 * 1024

/** A result's `applicant` claim: v1.1's salted digest, or v1's `idHash`. */
export type ResultApplicant = { idSalt: string; idDigest: string } | { idHash: string }

/**
 * base64url(scrypt(`idType:idNumber`, salt)) with PROTOCOL §5's parameters; `idNumber` as stored (normalised).
 *
 * @example await applicantIdDigest('resident_id', '11010519491231002X', Buffer.from(idSalt, 'base64url'))
 */
export function applicantIdDigest(idType: string, idNumber: string, salt: Buffer): Promise<string> {
  const { N, r, p, keyBytes } = APPLICANT_SCRYPT
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(`${idType}:${idNumber}`, 'utf8'), salt, keyBytes, { N, r, p, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key.toString('base64url')),
    )
  })
}

/** A fresh `{ idSalt, idDigest }` for a result the gateway issues or attests. */
export async function saltedApplicant(idType: string, idNumber: string): Promise<{ idSalt: string; idDigest: string }> {
  const salt = randomBytes(APPLICANT_SCRYPT.saltBytes)
  return { idSalt: salt.toString('base64url'), idDigest: await applicantIdDigest(idType, idNumber, salt) }
}

/** Whether a result's applicant claim names this applicant (salted digest, or v1 `idHash`); constant-time compare. */
export async function applicantMatches(applicant: ResultApplicant, idType: string, idNumber: string): Promise<boolean> {
  if ('idHash' in applicant) return sameText(applicant.idHash, applicantIdHash(idType, idNumber))
  const salt = Buffer.from(applicant.idSalt, 'base64url')
  if (salt.length !== APPLICANT_SCRYPT.saltBytes) return false
  return sameText(applicant.idDigest, await applicantIdDigest(idType, idNumber, salt))
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}
