import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type KeySetFile, keySetFileOf, loadKeySet, rotateKeySet, watchKeySetFile } from '../../src/security/keys.js'
import { waitFor } from '../helpers/wait.js'

let dataDir: string
const keysetPath = () => path.join(dataDir, 'keys', 'keyset.json')

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'tongban-keys-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

describe('loadKeySet', () => {
  it.each(['ES256', 'EdDSA'] as const)('generates a %s key on first start and reloads the same kid', async (alg) => {
    const logs: string[] = []
    const first = await loadKeySet({ dataDir, alg, log: (m) => logs.push(m) })
    expect(first.alg).toBe(alg)
    expect(logs.join('\n')).toContain(first.currentKid)
    const again = await loadKeySet({ dataDir, log: (m) => logs.push(m) })
    expect(again.currentKid).toBe(first.currentKid)
    expect(logs).toHaveLength(1)
    const [published] = first.jwks().keys
    expect(published?.kid).toBe(await calculateJwkThumbprint(published!))
  })

  it('writes the file 0600 in a 0700 directory', async () => {
    await loadKeySet({ dataDir })
    expect((await stat(keysetPath())).mode & 0o777).toBe(0o600)
    expect((await stat(path.dirname(keysetPath()))).mode & 0o777).toBe(0o700)
  })

  it('signs and verifies, with header { alg, kid, typ }, and the JWKS verifies it from outside', async () => {
    const keys = await loadKeySet({ dataDir })
    const token = await keys.sign({ iss: 'gw-420300', sub: 'case-1', iat: 1_760_000_000 }, 'tongban-receipt+jwt')
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: keys.currentKid, typ: 'tongban-receipt+jwt' })
    const { payload, kid } = await keys.verify(token, 'tongban-receipt+jwt')
    expect(kid).toBe(keys.currentKid)
    expect(payload).toEqual({ iss: 'gw-420300', sub: 'case-1', iat: 1_760_000_000 })
    await expect(keys.verify(token, 'tongban-result+jwt')).rejects.toThrow()
    const outside = await jwtVerify(token, createLocalJWKSet(keys.jwks()))
    expect(outside.payload.sub).toBe('case-1')
  })

  it('publishes no private members', async () => {
    await loadKeySet({ dataDir })
    await rotateKeySet({ dataDir, alg: 'EdDSA' })
    const keys = await loadKeySet({ dataDir })
    expect(keys.jwks().keys).toHaveLength(2)
    for (const jwk of keys.jwks().keys) {
      expect(jwk).not.toHaveProperty('d')
      expect(jwk.use).toBe('sig')
      expect(typeof jwk.kid).toBe('string')
    }
    expect(JSON.stringify(keys.jwks())).not.toMatch(/"d"/)
  })

  it('keeps old keys published after rotation, so earlier signatures still verify', async () => {
    const before = await loadKeySet({ dataDir })
    const old = await before.sign({ sub: 'case-1' }, 'tongban-receipt+jwt')
    const { kid, previous } = await rotateKeySet({ dataDir })
    expect(previous).toBe(before.currentKid)
    expect(kid).not.toBe(previous)
    const after = await loadKeySet({ dataDir })
    expect(after.currentKid).toBe(kid)
    expect(after.jwks().keys.map((k) => k.kid)).toEqual([kid, previous])
    expect((await after.verify(old, 'tongban-receipt+jwt')).kid).toBe(previous)
    const fresh = await after.sign({ sub: 'case-2' }, 'tongban-receipt+jwt')
    expect(decodeProtectedHeader(fresh).kid).toBe(kid)
    expect((await stat(keysetPath())).mode & 0o777).toBe(0o600)
  })

  it('loads from keysJson (an environment value) and from keysFile', async () => {
    const generated = await loadKeySet({ dataDir })
    const json = await readFile(keysetPath(), 'utf8')
    const fromEnv = await loadKeySet({ dataDir: '/nonexistent', keysJson: json })
    expect(fromEnv.currentKid).toBe(generated.currentKid)
    const elsewhere = path.join(dataDir, 'mounted.json')
    await writeFile(elsewhere, json)
    expect((await loadKeySet({ dataDir: '/nonexistent', keysFile: elsewhere })).currentKid).toBe(generated.currentKid)
    await expect(loadKeySet({ dataDir, keysFile: path.join(dataDir, 'missing.json') })).rejects.toThrow(/missing\.json/)
  })

  it('refuses malformed sets naming the source but never printing key material', async () => {
    await loadKeySet({ dataDir })
    const file = JSON.parse(await readFile(keysetPath(), 'utf8')) as KeySetFile
    const d = String(file.keys[0]!.privateJwk.d)
    const cases: Record<string, string> = {
      'not JSON': JSON.stringify(file).slice(0, -5),
      'bad shape': JSON.stringify({ ...file, keys: [{ ...file.keys[0], alg: 'HS256' }] }),
      'unknown current': JSON.stringify({ ...file, current: 'nope' }),
      'kid not the thumbprint': JSON.stringify({ ...file, keys: [{ ...file.keys[0], kid: 'x' }], current: 'x' }),
      'broken private key': JSON.stringify({
        ...file,
        keys: [{ ...file.keys[0], privateJwk: { ...file.keys[0]!.privateJwk, d: 'AAAA' } }],
      }),
    }
    for (const [name, keysJson] of Object.entries(cases)) {
      const error = await loadKeySet({ dataDir, keysJson }).then(
        () => null,
        (e: Error) => e,
      )
      expect(error, name).toBeInstanceOf(Error)
      expect(error!.message, name).toContain('environment')
      expect(error!.message, name).not.toContain(d)
      expect(error!.message, name).not.toContain(d.slice(0, 12))
    }
    await writeFile(keysetPath(), JSON.stringify(file).slice(0, -5))
    await expect(loadKeySet({ dataDir })).rejects.toThrow(keysetPath())
  })
})

describe('a running gateway following its key set file', () => {
  it('adopts a key rotated by the CLI in place: the next signature uses it and the JWKS publishes it', async () => {
    const keys = await loadKeySet({ dataDir })
    const first = keys.currentKid
    const file = keySetFileOf({ dataDir }) as string
    const reloaded: string[] = []
    const refused: string[] = []
    const stop = watchKeySetFile(
      keys,
      file,
      { reloaded: (kid) => reloaded.push(kid), refused: (r) => refused.push(r) },
      20,
    )
    try {
      const { kid } = await rotateKeySet({ dataDir })
      await waitFor('the rotated key adopted', async () => keys.currentKid === kid, 10_000, 20)
      expect(reloaded).toEqual([kid])
      const token = await keys.sign({ iss: 'gw-test' }, 'tongban-receipt+jwt')
      expect(decodeProtectedHeader(token).kid).toBe(kid)
      expect(keys.jwks().keys.map((k) => k.kid)).toEqual([kid, first])
      // What the old key signed still verifies with the set in use.
      const verified = await jwtVerify(token, createLocalJWKSet(keys.jwks()))
      expect(verified.payload.iss).toBe('gw-test')

      // A file that does not check is refused, and the keys in use stay.
      await writeFile(file, '{"current":"nope","keys":[]}')
      await waitFor('the broken file refused', async () => refused.length > 0, 10_000, 20)
      expect(keys.currentKid).toBe(kid)
    } finally {
      stop()
    }
  })

  it('follows no file for a key set given as JSON', () => {
    expect(keySetFileOf({ dataDir, keysJson: '{}' })).toBeUndefined()
    expect(keySetFileOf({ dataDir, keysFile: '/run/secrets/keyset.json' })).toBe('/run/secrets/keyset.json')
  })
})
