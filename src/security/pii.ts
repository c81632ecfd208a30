/**
 * Identity numbers (and phones) at rest: sealed for display to parties, and a keyed lookup hash for finding a
 * person's cases without decrypting. The subkeys come from one 32-byte identity key via HKDF, so one secret
 * (IDENTITY_KEY) is shared by all instances. The cipher is the deployment's choice (`PII_CIPHER`): AES-256-GCM,
 * or SM4-GCM (GB/T 32907; security/sm4-gcm.ts) for deployments assessed under GB/T 39786. Every sealed value
 * names its cipher and key, so values of both kinds and of replaced keys stay readable until
 * `tongban keys reseal` has moved them all to the current ones. Nothing here logs or echoes its inputs.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createSecretFile } from './files.js'
import { sm4GcmDecrypt, sm4GcmEncrypt } from './sm4-gcm.js'

/** The ciphers `PII_CIPHER` may name. */
export const PII_CIPHERS = ['aes-256-gcm', 'sm4-gcm'] as const
export type PiiCipher = (typeof PII_CIPHERS)[number]

/**
 * Format 1 (before `PII_CIPHER`): `1 ‖ iv(12) ‖ tag(16) ‖ ciphertext`, AES-256-GCM, key not named.
 * Format 2: `2 ‖ cipher(1) ‖ key id(4) ‖ iv(12) ‖ tag(16) ‖ ciphertext`; the first 6 bytes are the AAD.
 */
const FORMAT_V1 = 1
const FORMAT_V2 = 2
const V2_HEADER = 6
const CIPHER_CODES: Record<PiiCipher, number> = { 'aes-256-gcm': 1, 'sm4-gcm': 2 }
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32

function subkey(key: Buffer, info: string, bytes = KEY_BYTES, digest = 'sha256'): Buffer {
  return Buffer.from(hkdfSync(digest, key, Buffer.alloc(0), info, bytes))
}

/** The 4-byte id a sealed value names its key by (HKDF, so it reveals nothing of the key). */
function keyIdOf(key: Buffer): Buffer {
  return subkey(key, 'tongban-key-id', 4)
}

class VaultKey {
  readonly id: Buffer
  readonly aes: Buffer
  readonly sm4: Buffer
  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new RangeError('the identity key must be 32 bytes')
    this.id = keyIdOf(key)
    this.aes = subkey(key, 'tongban-encrypt')
    // The national profile derives its subkeys with HKDF-SM3.
    this.sm4 = subkey(key, 'tongban-encrypt-sm4', 16, 'sm3')
  }
}

/** What a sealed value says about itself: its format, cipher and key id (hex); null when it is no sealed value. */
export interface SealInfo {
  format: 1 | 2
  cipher: PiiCipher
  /** Hex; null for format 1, which names no key. */
  keyId: string | null
}

/**
 * Seals, opens and hashes identity numbers under the identity key.
 *
 * @param key 32 bytes (see {@link loadIdentityKey}): the current key, which seals and hashes.
 * @param opts `cipher` (default `aes-256-gcm`) seals new values; `previous` keys are only read with.
 * @example const vault = new IdentityVault(await loadIdentityKey({ dataDir }), { cipher: 'sm4-gcm' }); const sealed = vault.encrypt(idNumber)
 */
export class IdentityVault {
  readonly cipher: PiiCipher
  readonly #current: VaultKey
  readonly #keys: Map<string, VaultKey>
  readonly #lookupKey: Buffer
  readonly #lookupDigest: 'sha256' | 'sm3'

  constructor(key: Buffer, opts: { cipher?: PiiCipher; previous?: readonly Buffer[] } = {}) {
    this.cipher = opts.cipher ?? 'aes-256-gcm'
    this.#current = new VaultKey(key)
    this.#keys = new Map([[this.#current.id.toString('hex'), this.#current]])
    for (const p of opts.previous ?? []) {
      const k = new VaultKey(p)
      if (!this.#keys.has(k.id.toString('hex'))) this.#keys.set(k.id.toString('hex'), k)
    }
    // The lookup hash follows the profile: HMAC-SM3 beside SM4, HMAC-SHA256 beside AES (reseal recomputes it).
    this.#lookupDigest = this.cipher === 'sm4-gcm' ? 'sm3' : 'sha256'
    this.#lookupKey =
      this.cipher === 'sm4-gcm' ? subkey(key, 'tongban-lookup-sm3', KEY_BYTES, 'sm3') : subkey(key, 'tongban-lookup')
  }

  /** Hex id of the current key, as sealed values name it. */
  get keyId(): string {
    return this.#current.id.toString('hex')
  }

  /** `2 ‖ cipher ‖ key id ‖ iv(12) ‖ tag(16) ‖ ciphertext`, with a random IV per call; the header is authenticated. */
  encrypt(plain: string): Buffer {
    const iv = randomBytes(IV_BYTES)
    const header = Buffer.concat([Buffer.from([FORMAT_V2, CIPHER_CODES[this.cipher]]), this.#current.id])
    const data = Buffer.from(plain, 'utf8')
    if (this.cipher === 'sm4-gcm') {
      const { ciphertext, tag } = sm4GcmEncrypt(this.#current.sm4, iv, data, header)
      return Buffer.concat([header, iv, tag, ciphertext])
    }
    const cipher = createCipheriv('aes-256-gcm', this.#current.aes, iv)
    cipher.setAAD(header)
    const body = Buffer.concat([cipher.update(data), cipher.final()])
    return Buffer.concat([header, iv, cipher.getAuthTag(), body])
  }

  /** The cipher and key a sealed value names; null when it is not a sealed value. */
  sealInfo(buf: Buffer): SealInfo | null {
    if (buf[0] === FORMAT_V1 && buf.length >= 1 + IV_BYTES + TAG_BYTES) {
      return { format: 1, cipher: 'aes-256-gcm', keyId: null }
    }
    if (buf[0] !== FORMAT_V2 || buf.length < V2_HEADER + IV_BYTES + TAG_BYTES) return null
    const cipher = PII_CIPHERS.find((c) => CIPHER_CODES[c] === buf[1])
    return cipher ? { format: 2, cipher, keyId: buf.subarray(2, V2_HEADER).toString('hex') } : null
  }

  /** Whether a sealed value is already under the current key and cipher (`tongban keys reseal` skips it). */
  isCurrent(buf: Buffer): boolean {
    const info = this.sealInfo(buf)
    return info !== null && info.format === 2 && info.cipher === this.cipher && info.keyId === this.keyId
  }

  /** The plaintext of a sealed value of either format, cipher and known key; throws when altered or under an unknown key. */
  decrypt(buf: Buffer): string {
    const info = this.sealInfo(buf)
    if (info === null) throw new Error('identity ciphertext has an unknown format')
    if (info.format === 1) {
      // Format 1 names no key: the current key first, then the previous ones.
      for (const k of this.#keys.values()) {
        const plain = openAes(k.aes, buf.subarray(0, 1), buf.subarray(1))
        if (plain !== null) return plain.toString('utf8')
      }
      throw new Error('identity ciphertext failed authentication (altered, or sealed under another key)')
    }
    const key = this.#keys.get(info.keyId ?? '')
    if (!key) throw new Error(`identity ciphertext is sealed under key ${info.keyId}, which this gateway does not hold`)
    const header = buf.subarray(0, V2_HEADER)
    const rest = buf.subarray(V2_HEADER)
    if (info.cipher === 'aes-256-gcm') {
      const plain = openAes(key.aes, header, rest)
      if (plain === null) throw new Error('identity ciphertext failed authentication (altered)')
      return plain.toString('utf8')
    }
    try {
      const iv = rest.subarray(0, IV_BYTES)
      const tag = rest.subarray(IV_BYTES, IV_BYTES + TAG_BYTES)
      return sm4GcmDecrypt(key.sm4, iv, rest.subarray(IV_BYTES + TAG_BYTES), tag, header).toString('utf8')
    } catch {
      throw new Error('identity ciphertext failed authentication (altered)')
    }
  }

  /**
   * Keyed hash of `idType:idNumber` under the current key's lookup subkey (HMAC-SHA256, or HMAC-SM3 with
   * `sm4-gcm`): stable for one key and cipher, useless without the key. Inputs are hashed as given; normalise
   * them first (e.g. upper-case `X`).
   */
  lookupHash(idType: string, idNumber: string): Buffer {
    return createHmac(this.#lookupDigest, this.#lookupKey).update(`${idType}:${idNumber}`, 'utf8').digest()
  }
}

/** AES-256-GCM of `iv(12) ‖ tag(16) ‖ ciphertext` with `aad`; null when authentication fails. */
function openAes(key: Buffer, aad: Buffer, rest: Buffer): Buffer | null {
  const decipher = createDecipheriv('aes-256-gcm', key, rest.subarray(0, IV_BYTES))
  decipher.setAAD(aad)
  decipher.setAuthTag(rest.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(rest.subarray(IV_BYTES + TAG_BYTES)), decipher.final()])
  } catch {
    return null
  }
}

/**
 * PROTOCOL §5's applicant `idHash`: base64url SHA-256 of `idType:idNumber` (unkeyed, so any party can
 * compute it from the case it holds).
 *
 * @example applicantIdHash('resident_id', '11010519491231002X')
 */
export function applicantIdHash(idType: string, idNumber: string): string {
  return createHash('sha256').update(`${idType}:${idNumber}`, 'utf8').digest('base64url')
}

export function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim()
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new Error(`${source} must be the base64 of 32 bytes`)
  const key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64')
  if (key.length !== KEY_BYTES) throw new Error(`${source} must be the base64 of 32 bytes`)
  return key
}

/**
 * The identity key: from `keyBase64` (the IDENTITY_KEY environment value, base64 of 32 bytes) if given, else
 * `keyFile` (base64 text or 32 raw bytes), else `${dataDir}/keys/identity.key`, generated (0600) on first
 * start with a warning through `log`: several instances must share one key through IDENTITY_KEY. Errors
 * name the source, never the value.
 *
 * @example const key = await loadIdentityKey({ dataDir, keyBase64: process.env.IDENTITY_KEY, log: (m) => logger.warn(m) })
 */
export async function loadIdentityKey(opts: {
  dataDir: string
  keyBase64?: string
  keyFile?: string
  log?: (m: string) => void
}): Promise<Buffer> {
  if (opts.keyBase64 !== undefined) return decodeKey(opts.keyBase64, 'IDENTITY_KEY')
  if (opts.keyFile !== undefined) {
    const raw = await readFile(opts.keyFile).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read identity key file ${opts.keyFile}: ${e.code ?? 'error'}`)
    })
    return raw.length === KEY_BYTES ? raw : decodeKey(raw.toString('utf8'), `identity key file ${opts.keyFile}`)
  }
  const file = path.join(opts.dataDir, 'keys', 'identity.key')
  try {
    return decodeKey(await readFile(file, 'utf8'), `identity key file ${file}`)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  const key = randomBytes(KEY_BYTES)
  // Another process created it first: use theirs.
  if (!(await createSecretFile(file, `${key.toString('base64')}\n`))) return loadIdentityKey({ dataDir: opts.dataDir })
  opts.log?.(
    `generated a new identity key in ${file}; a deployment with several instances must share one key through IDENTITY_KEY, and losing it makes stored identity numbers unreadable`,
  )
  return key
}
