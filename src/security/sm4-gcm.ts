/**
 * SM4-GCM (GB/T 32907 block cipher in the Galois/Counter Mode of NIST SP 800-38D, as RFC 8998 uses it).
 * node:crypto (OpenSSL 3.0) offers SM4 in ECB, CBC and CTR but not GCM, so GCM is built here over node's
 * SM4: the block cipher and the counter mode come from OpenSSL, only GHASH (the authenticator) is computed
 * in this file. Checked against RFC 8998 appendix A.1, and the same construction over AES against node's own
 * `aes-128-gcm` (test/unit/sm4-gcm.test.ts).
 *
 * The IV is 96 bits (the only length GCM recommends) and the tag 128 bits. Nothing here logs its inputs.
 */
import { createCipheriv, timingSafeEqual } from 'node:crypto'

const BLOCK = 16
export const SM4_GCM_IV_BYTES = 12
export const SM4_GCM_TAG_BYTES = 16
/** Far below GCM's 2^32-block bound per IV, so the 32-bit counter never wraps (OpenSSL's CTR carries into the IV). */
const MAX_BYTES = 1 << 24

/** The block ciphers the construction runs over: SM4, and AES-128 so that tests can compare with node's GCM. */
export type GcmBlockCipher = 'sm4' | 'aes-128'

const R = 0xe1n << 120n

/** Multiplication in GF(2^128) with GCM's bit order (SP 800-38D algorithm 1). */
function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n
  let v = y
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n
  }
  return z
}

const toBig = (b: Buffer): bigint => BigInt(`0x${b.toString('hex') || '0'}`)
const toBuf = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(32, '0'), 'hex')

function ghash(h: bigint, aad: Buffer, ciphertext: Buffer): bigint {
  let y = 0n
  const absorb = (data: Buffer) => {
    for (let off = 0; off < data.length; off += BLOCK) {
      const block = Buffer.alloc(BLOCK)
      data.copy(block, 0, off, Math.min(off + BLOCK, data.length))
      y = gfMul(y ^ toBig(block), h)
    }
  }
  absorb(aad)
  absorb(ciphertext)
  const lengths = Buffer.alloc(BLOCK)
  lengths.writeBigUInt64BE(BigInt(aad.length) * 8n, 0)
  lengths.writeBigUInt64BE(BigInt(ciphertext.length) * 8n, 8)
  return gfMul(y ^ toBig(lengths), h)
}

function encryptBlock(alg: GcmBlockCipher, key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv(`${alg}-ecb`, key, null).setAutoPadding(false)
  return Buffer.concat([c.update(block), c.final()])
}

function ctr(alg: GcmBlockCipher, key: Buffer, counter: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(`${alg}-ctr`, key, counter)
  return Buffer.concat([c.update(data), c.final()])
}

function check(key: Buffer, iv: Buffer, length: number): void {
  if (key.length !== 16) throw new RangeError('the key must be 16 bytes')
  if (iv.length !== SM4_GCM_IV_BYTES) throw new RangeError('the IV must be 12 bytes')
  if (length > MAX_BYTES) throw new RangeError('the message is too long for one GCM operation here')
}

/** J0 = IV ‖ 0^31 ‖ 1; the first counter block of the payload is inc32(J0). */
function counters(iv: Buffer): { j0: Buffer; first: Buffer } {
  const j0 = Buffer.concat([iv, Buffer.from([0, 0, 0, 1])])
  const first = Buffer.concat([iv, Buffer.from([0, 0, 0, 2])])
  return { j0, first }
}

function tagOf(alg: GcmBlockCipher, key: Buffer, j0: Buffer, aad: Buffer, ciphertext: Buffer): Buffer {
  const h = toBig(encryptBlock(alg, key, Buffer.alloc(BLOCK)))
  return toBuf(ghash(h, aad, ciphertext) ^ toBig(encryptBlock(alg, key, j0)))
}

/** GCM encryption over `alg` (exported for the test against node's AES-GCM; use {@link sm4GcmEncrypt}). */
export function gcmEncrypt(
  alg: GcmBlockCipher,
  key: Buffer,
  iv: Buffer,
  plaintext: Buffer,
  aad: Buffer = Buffer.alloc(0),
): { ciphertext: Buffer; tag: Buffer } {
  check(key, iv, plaintext.length)
  const { j0, first } = counters(iv)
  const ciphertext = ctr(alg, key, first, plaintext)
  return { ciphertext, tag: tagOf(alg, key, j0, aad, ciphertext) }
}

/** GCM decryption over `alg`; throws when the tag does not match (altered data, another key or AAD). */
export function gcmDecrypt(
  alg: GcmBlockCipher,
  key: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
  aad: Buffer = Buffer.alloc(0),
): Buffer {
  check(key, iv, ciphertext.length)
  const { j0, first } = counters(iv)
  const expected = tagOf(alg, key, j0, aad, ciphertext)
  if (tag.length !== SM4_GCM_TAG_BYTES || !timingSafeEqual(tag, expected)) {
    throw new Error('SM4-GCM authentication failed')
  }
  return ctr(alg, key, first, ciphertext)
}

/**
 * SM4-GCM encryption: 16-byte key, 12-byte IV (never reuse one under a key), optional additional data.
 *
 * @example const { ciphertext, tag } = sm4GcmEncrypt(key, randomBytes(12), Buffer.from('420303…'), header)
 */
export function sm4GcmEncrypt(
  key: Buffer,
  iv: Buffer,
  plaintext: Buffer,
  aad?: Buffer,
): { ciphertext: Buffer; tag: Buffer } {
  return gcmEncrypt('sm4', key, iv, plaintext, aad)
}

/** SM4-GCM decryption; throws when authentication fails. */
export function sm4GcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad?: Buffer): Buffer {
  return gcmDecrypt('sm4', key, iv, ciphertext, tag, aad)
}
