/**
 * Identity numbers at rest: encrypted with AES-256-GCM for display to parties, and an HMAC lookup hash for
 * finding a person's cases without decrypting. Both subkeys come from one 32-byte identity key via HKDF, so
 * one secret (IDENTITY_KEY) is shared by all instances. Nothing here logs or echoes its inputs.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createSecretFile } from './files.js'

/** The first byte of every ciphertext: the format (and key) version, so keys can rotate later. */
const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32

function subkey(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, KEY_BYTES))
}

/**
 * Encrypts and hashes identity numbers under the identity key.
 *
 * @param key 32 bytes (see {@link loadIdentityKey}); encryption uses the HKDF-SHA256 subkey with info
 *   `tongban-encrypt`, lookup hashes the one with info `tongban-lookup`.
 * @example const vault = new IdentityVault(await loadIdentityKey({ dataDir })); const sealed = vault.encrypt(idNumber)
 */
export class IdentityVault {
  readonly #encKey: Buffer
  readonly #lookupKey: Buffer

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new RangeError('the identity key must be 32 bytes')
    this.#encKey = subkey(key, 'tongban-encrypt')
    this.#lookupKey = subkey(key, 'tongban-lookup')
  }

  /** `version ‖ iv(12) ‖ tag(16) ‖ ciphertext`, with a random IV per call; the version byte is authenticated. */
  encrypt(plain: string): Buffer {
    const iv = randomBytes(IV_BYTES)
    const header = Buffer.from([VERSION])
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, iv)
    cipher.setAAD(header)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return Buffer.concat([header, iv, cipher.getAuthTag(), body])
  }

  /** The plaintext of {@link IdentityVault.encrypt}'s output; throws when it was altered or sealed under another key. */
  decrypt(buf: Buffer): string {
    if (buf.length < 1 + IV_BYTES + TAG_BYTES || buf[0] !== VERSION) {
      throw new Error('identity ciphertext has an unknown format')
    }
    const iv = buf.subarray(1, 1 + IV_BYTES)
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES)
    const decipher = createDecipheriv('aes-256-gcm', this.#encKey, iv)
    decipher.setAAD(buf.subarray(0, 1))
    decipher.setAuthTag(tag)
    try {
      return Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw new Error('identity ciphertext failed authentication (altered, or sealed under another key)')
    }
  }

  /**
   * HMAC-SHA256 of `idType:idNumber` under the lookup subkey: stable for one key, useless without it.
   * Inputs are hashed as given; normalise them first (e.g. upper-case `X`).
   */
  lookupHash(idType: string, idNumber: string): Buffer {
    return createHmac('sha256', this.#lookupKey).update(`${idType}:${idNumber}`, 'utf8').digest()
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

function decodeKey(text: string, source: string): Buffer {
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
