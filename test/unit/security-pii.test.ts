import { createCipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applicantIdHash, IdentityVault, loadIdentityKey } from '../../src/security/pii.js'

const residentId = '11010519491231002X'

describe('IdentityVault', () => {
  const vault = new IdentityVault(randomBytes(32))

  it('round-trips, with a header naming format, cipher and key first and a fresh IV per call', () => {
    const a = vault.encrypt(residentId)
    const b = vault.encrypt(residentId)
    expect(vault.decrypt(a)).toBe(residentId)
    expect([a[0], a[1]]).toEqual([2, 1])
    expect(a.subarray(2, 6).toString('hex')).toBe(vault.keyId)
    expect(vault.sealInfo(a)).toEqual({ format: 2, cipher: 'aes-256-gcm', keyId: vault.keyId })
    expect(a.length).toBe(6 + 12 + 16 + residentId.length)
    expect(a.subarray(6, 18).equals(b.subarray(6, 18))).toBe(false)
    expect(a.equals(b)).toBe(false)
    expect(a.toString('latin1')).not.toContain(residentId)
  })

  it('refuses tampered ciphertexts, other keys and unknown formats without echoing anything', () => {
    const sealed = vault.encrypt(residentId)
    for (const i of [1, 2, 6, 18, 34, sealed.length - 1]) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 1
      expect(() => vault.decrypt(tampered), `byte ${i}`).toThrow(/failed authentication|does not hold|unknown format/)
      expect(() => vault.decrypt(tampered)).not.toThrow(new RegExp(residentId))
    }
    const versioned = Buffer.from(sealed)
    versioned[0] = 3
    expect(() => vault.decrypt(versioned)).toThrow(/unknown format/)
    expect(() => vault.decrypt(sealed.subarray(0, 20))).toThrow(/unknown format/)
    expect(() => new IdentityVault(randomBytes(32)).decrypt(sealed)).toThrow(/does not hold/)
  })

  it('gives lookup hashes that are stable for one key and differ across keys and types', () => {
    const key = randomBytes(32)
    const h = new IdentityVault(key).lookupHash('resident_id', residentId)
    expect(h).toHaveLength(32)
    expect(new IdentityVault(Buffer.from(key)).lookupHash('resident_id', residentId).equals(h)).toBe(true)
    expect(vault.lookupHash('resident_id', residentId).equals(h)).toBe(false)
    expect(new IdentityVault(key).lookupHash('passport', residentId).equals(h)).toBe(false)
    // HMAC-SM3 beside SM4.
    const sm = new IdentityVault(key, { cipher: 'sm4-gcm' }).lookupHash('resident_id', residentId)
    expect(sm).toHaveLength(32)
    expect(sm.equals(h)).toBe(false)
    // Not the plain hash that PROTOCOL §5 publishes.
    expect(h.toString('base64url')).not.toBe(applicantIdHash('resident_id', residentId))
  })

  it('wants a 32-byte key', () => {
    expect(() => new IdentityVault(randomBytes(16))).toThrow(/32 bytes/)
  })
})

describe('IdentityVault with PII_CIPHER=sm4-gcm, and with replaced keys', () => {
  const key = randomBytes(32)
  const sm4 = new IdentityVault(key, { cipher: 'sm4-gcm' })

  it('seals with SM4-GCM under the key it names, and opens it', () => {
    const sealed = sm4.encrypt(residentId)
    expect(sm4.sealInfo(sealed)).toEqual({ format: 2, cipher: 'sm4-gcm', keyId: sm4.keyId })
    expect(sealed.length).toBe(6 + 12 + 16 + residentId.length)
    expect(sm4.decrypt(sealed)).toBe(residentId)
    expect(sm4.isCurrent(sealed)).toBe(true)
    expect(sealed.toString('latin1')).not.toContain(residentId)
    for (const i of [1, 7, 20, sealed.length - 1]) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 1
      expect(() => sm4.decrypt(tampered), `byte ${i}`).toThrow(/failed authentication|unknown format/)
    }
  })

  it('reads both ciphers under one key, and format 1 (AES, no key named) of the old code', () => {
    const aes = new IdentityVault(key)
    expect(sm4.decrypt(aes.encrypt(residentId))).toBe(residentId)
    expect(aes.decrypt(sm4.encrypt(residentId))).toBe(residentId)
    expect(sm4.isCurrent(aes.encrypt(residentId))).toBe(false)
    // Format 1, as the version before PII_CIPHER wrote it.
    const iv = randomBytes(12)
    const encKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'tongban-encrypt', 32))
    const c = createCipheriv('aes-256-gcm', encKey, iv)
    c.setAAD(Buffer.from([1]))
    const body = Buffer.concat([c.update(residentId, 'utf8'), c.final()])
    const v1 = Buffer.concat([Buffer.from([1]), iv, c.getAuthTag(), body])
    expect(sm4.sealInfo(v1)).toEqual({ format: 1, cipher: 'aes-256-gcm', keyId: null })
    expect(sm4.decrypt(v1)).toBe(residentId)
    expect(aes.isCurrent(v1)).toBe(false)
    // Under a new key, the old one given as previous.
    const rotated = new IdentityVault(randomBytes(32), { cipher: 'sm4-gcm', previous: [key] })
    expect(rotated.decrypt(v1)).toBe(residentId)
    expect(rotated.decrypt(aes.encrypt(residentId))).toBe(residentId)
    expect(rotated.isCurrent(sm4.encrypt(residentId))).toBe(false)
    expect(rotated.keyId).not.toBe(sm4.keyId)
  })
})

describe('applicantIdHash (PROTOCOL §5 idHash)', () => {
  it('is base64url SHA-256 of idType:idNumber', () => {
    const byHand = createHash('sha256').update('resident_id:11010519491231002X').digest('base64url')
    expect(applicantIdHash('resident_id', residentId)).toBe(byHand)
    expect(applicantIdHash('resident_id', residentId)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})

describe('loadIdentityKey', () => {
  let dataDir: string
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tongban-idkey-'))
  })
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })

  it('generates a 0600 key on first start with a warning, then reloads it', async () => {
    const logs: string[] = []
    const key = await loadIdentityKey({ dataDir, log: (m) => logs.push(m) })
    expect(key).toHaveLength(32)
    expect(logs.join()).toMatch(/IDENTITY_KEY/)
    const file = path.join(dataDir, 'keys', 'identity.key')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(logs.join()).not.toContain(key.toString('base64'))
    expect((await loadIdentityKey({ dataDir, log: (m) => logs.push(m) })).equals(key)).toBe(true)
    expect(logs).toHaveLength(1)
  })

  it('takes the environment value or a file, and refuses a wrong length without echoing it', async () => {
    const key = randomBytes(32)
    expect((await loadIdentityKey({ dataDir, keyBase64: key.toString('base64') })).equals(key)).toBe(true)
    const file = path.join(dataDir, 'mounted.key')
    await writeFile(file, `${key.toString('base64')}\n`)
    expect((await loadIdentityKey({ dataDir, keyFile: file })).equals(key)).toBe(true)
    await writeFile(file, key)
    expect((await loadIdentityKey({ dataDir, keyFile: file })).equals(key)).toBe(true)
    const short = randomBytes(31).toString('base64')
    const error = await loadIdentityKey({ dataDir, keyBase64: short }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/IDENTITY_KEY/)
    expect((error as Error).message).not.toContain(short)
    await expect(loadIdentityKey({ dataDir, keyBase64: 'not base64!' })).rejects.toThrow(/IDENTITY_KEY/)
    await expect(readFile(path.join(dataDir, 'keys', 'identity.key'))).rejects.toThrow()
  })
})
