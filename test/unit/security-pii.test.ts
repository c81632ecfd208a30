import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applicantIdHash, IdentityVault, loadIdentityKey } from '../../src/security/pii.js'

const residentId = '11010519491231002X'

describe('IdentityVault', () => {
  const vault = new IdentityVault(randomBytes(32))

  it('round-trips, with a version byte first and a fresh IV per call', () => {
    const a = vault.encrypt(residentId)
    const b = vault.encrypt(residentId)
    expect(vault.decrypt(a)).toBe(residentId)
    expect(a[0]).toBe(1)
    expect(a.length).toBe(1 + 12 + 16 + residentId.length)
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false)
    expect(a.equals(b)).toBe(false)
    expect(a.toString('latin1')).not.toContain(residentId)
  })

  it('refuses tampered ciphertexts, other keys and other versions without echoing anything', () => {
    const sealed = vault.encrypt(residentId)
    for (const i of [1, 13, 29, sealed.length - 1]) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 1
      expect(() => vault.decrypt(tampered), `byte ${i}`).toThrow(/failed authentication/)
    }
    const versioned = Buffer.from(sealed)
    versioned[0] = 2
    expect(() => vault.decrypt(versioned)).toThrow(/unknown format/)
    expect(() => vault.decrypt(sealed.subarray(0, 20))).toThrow(/unknown format/)
    expect(() => new IdentityVault(randomBytes(32)).decrypt(sealed)).toThrow(/failed authentication/)
  })

  it('gives lookup hashes that are stable for one key and differ across keys and types', () => {
    const key = randomBytes(32)
    const h = new IdentityVault(key).lookupHash('resident_id', residentId)
    expect(h).toHaveLength(32)
    expect(new IdentityVault(Buffer.from(key)).lookupHash('resident_id', residentId).equals(h)).toBe(true)
    expect(vault.lookupHash('resident_id', residentId).equals(h)).toBe(false)
    expect(new IdentityVault(key).lookupHash('passport', residentId).equals(h)).toBe(false)
    // Not the plain hash that PROTOCOL §5 publishes.
    expect(h.toString('base64url')).not.toBe(applicantIdHash('resident_id', residentId))
  })

  it('wants a 32-byte key', () => {
    expect(() => new IdentityVault(randomBytes(16))).toThrow(/32 bytes/)
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
