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
    expect(
      keys
        .jwks()
        .keys.map((k) => k.alg)
        .sort(),
    ).toEqual(['ES256', 'EdDSA', 'SM2'])
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
    const sm2 = before.jwks().keys.find((k) => k.alg === 'SM2')?.kid
    expect(after.jwks().keys.map((k) => k.kid)).toEqual([kid, previous, sm2])
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
      const sm2 = keys.jwks().keys.find((k) => k.alg === 'SM2')?.kid
      expect(keys.jwks().keys.map((k) => k.kid)).toEqual([kid, first, sm2])
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

describe('SM2 beside ES256 (PROTOCOL §2 (1.1))', () => {
  const algOf = (token: string) => decodeProtectedHeader(token).alg

  it('generates an SM2 key beside the ES256 one on first start, signs SM2 parties with it and ES256 ones with ES256', async () => {
    const keys = await loadKeySet({ dataDir })
    expect(keys.jwks().keys.map((k) => [k.alg, k.crv])).toEqual([
      ['ES256', 'P-256'],
      ['SM2', 'SM2'],
    ])
    expect(keys.alg).toBe('ES256')
    const plain = await keys.sign({ sub: 'c' }, 'tongban-receipt+jwt')
    const toSm2 = await keys.sign({ sub: 'c' }, 'tongban-receipt+jwt', 'SM2')
    const toEd = await keys.sign({ sub: 'c' }, 'tongban-receipt+jwt', 'EdDSA')
    expect([algOf(plain), algOf(toSm2), algOf(toEd)]).toEqual(['ES256', 'SM2', 'ES256'])
    expect((await keys.verify(toSm2, 'tongban-receipt+jwt')).payload).toEqual({ sub: 'c' })
    // The SM2 signature is over the SM2 input: flipping the payload breaks it.
    const [h, , sig] = toSm2.split('.')
    const forged = `${h}.${Buffer.from('{"sub":"d"}').toString('base64url')}.${sig}`
    await expect(keys.verify(forged, 'tongban-receipt+jwt')).rejects.toThrow(/signature/)
  })

  it('with SIGNING_ALG=SM2 signs with SM2 by default and keeps an ES256 key for ES256 parties', async () => {
    const keys = await loadKeySet({ dataDir, alg: 'SM2' })
    expect(keys.alg).toBe('SM2')
    expect(keys.jwks().keys[0]?.crv).toBe('SM2')
    expect(algOf(await keys.sign({}, 'tongban-result+jwt'))).toBe('SM2')
    expect(algOf(await keys.sign({}, 'tongban-receipt+jwt', 'ES256'))).toBe('ES256')
    // The same file read by a gateway that prefers ES256 signs with ES256.
    expect((await loadKeySet({ dataDir, alg: 'ES256' })).alg).toBe('ES256')
  })

  it('rotates the SM2 key with --alg SM2 without changing the default ES256 key, and an old set gains one', async () => {
    const keys = await loadKeySet({ dataDir })
    const es = keys.currentKid
    const oldSm2 = keys.jwks().keys.find((k) => k.alg === 'SM2')!.kid
    const { kid, previous } = await rotateKeySet({ dataDir, alg: 'SM2', preferred: 'ES256' })
    expect(previous).toBe(oldSm2)
    const after = await loadKeySet({ dataDir, alg: 'ES256' })
    expect(after.currentKid).toBe(es)
    expect(after.inUseKids().sort()).toEqual([es, kid].sort())
    expect(decodeProtectedHeader(await after.sign({}, 't', 'SM2')).kid).toBe(kid)
    // A plain rotation then rotates the default (ES256) key, not the SM2 one.
    const next = await rotateKeySet({ dataDir, preferred: 'ES256' })
    expect(next.previous).toBe(es)
    const last = await loadKeySet({ dataDir, alg: 'ES256' })
    expect(last.currentKid).toBe(next.kid)
    expect(decodeProtectedHeader(await last.sign({}, 't', 'SM2')).kid).toBe(kid)
  })

  it('refuses an SM2 private key that does not match its public half, without printing it', async () => {
    await loadKeySet({ dataDir })
    const file = JSON.parse(await readFile(keysetPath(), 'utf8')) as KeySetFile
    const sm2 = file.keys.find((k) => k.alg === 'SM2')!
    const other = (await import('../../src/security/jws.js')).generateJwkPair('SM2').privateJwk
    const broken = {
      ...file,
      keys: file.keys.map((k) => (k === sm2 ? { ...k, privateJwk: { ...k.privateJwk, d: other.d } } : k)),
    }
    const error = await loadKeySet({ dataDir, keysJson: JSON.stringify(broken) }).then(
      () => null,
      (e: Error) => e,
    )
    expect(error?.message).toContain('SM2 private key cannot be imported')
    expect(error?.message).not.toContain(String(other.d))
  })
})
