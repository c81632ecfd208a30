/**
 * SM2 and SM3 against the published examples and against an independent implementation (the OpenSSL command
 * line), both ways, through the JWS module that the gateway signs and verifies with.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateJwkPair, keyFromJwk, signCompact, verifyCompact } from '../../src/security/jws.js'
import { SM2_DEFAULT_ID, Sm2PrivateKey, Sm2PublicKey, sm2Sign, sm2Verify, sm3 } from '../../src/security/sm2.js'

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex')

describe('SM3 (GB/T 32905-2016, appendix A)', () => {
  it('hashes example 1, "abc"', () => {
    expect(sm3(Buffer.from('abc')).toString('hex')).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    )
  })
  it('hashes example 2, the 512-bit message "abcd" × 16', () => {
    expect(sm3(Buffer.from('abcd'.repeat(16))).toString('hex')).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    )
  })
})

describe('SM2 signature example on the recommended curve (GM/T 0003.5, GB/T 32918.5)', () => {
  const d = hex('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8')
  const k = 0x59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21n
  const message = Buffer.from('message digest')
  const key = Sm2PrivateKey.fromScalar(d)

  it('derives the example public key from the private key', () => {
    expect(key.publicKey.x.toString('hex')).toBe('09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020')
    expect(key.publicKey.y.toString('hex')).toBe('ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13')
  })

  it('signs "message digest" with ID ALICE123@YAHOO.COM and the example k to the published r and s', () => {
    const signature = sm2Sign(key, message, 'ALICE123@YAHOO.COM', k)
    expect(signature.subarray(0, 32).toString('hex')).toBe(
      'b0e3e7d4ac2178f833ad73fa9d1191e41c76c8bfedb5ad89040ba2e5184bde58',
    )
    expect(signature.subarray(32).toString('hex')).toBe(
      'cc8d096578f7dd2669ac1ac42f7e722bcfa42b9e0be0b1b5df7ca0b53fdd5750',
    )
    expect(sm2Verify(key.publicKey, message, signature, 'ALICE123@YAHOO.COM')).toBe(true)
    // The identifier is part of what is signed: under the default one it does not verify.
    expect(sm2Verify(key.publicKey, message, signature, SM2_DEFAULT_ID)).toBe(false)
  })

  it('signs the same message with the default identifier 1234567812345678 to the widely reproduced r and s', () => {
    const signature = sm2Sign(key, message, SM2_DEFAULT_ID, k)
    expect(signature.toString('hex')).toBe(
      'f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3' +
        'b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
    )
  })

  it('refuses what is not a signature of the message', () => {
    const signature = sm2Sign(key, message)
    expect(sm2Verify(key.publicKey, message, signature)).toBe(true)
    expect(sm2Verify(key.publicKey, Buffer.from('message digesT'), signature)).toBe(false)
    expect(sm2Verify(key.publicKey, message, signature.subarray(0, 63))).toBe(false)
    const zeroR = Buffer.concat([Buffer.alloc(32), signature.subarray(32)])
    expect(sm2Verify(key.publicKey, message, zeroR)).toBe(false)
    const bigS = Buffer.concat([signature.subarray(0, 32), Buffer.alloc(32, 0xff)])
    expect(sm2Verify(key.publicKey, message, bigS)).toBe(false)
    const other = Sm2PrivateKey.generate()
    expect(sm2Verify(other.publicKey, message, signature)).toBe(false)
  })

  it('refuses a point that is not on the curve', () => {
    const y = Buffer.from(key.publicKey.y)
    y[31] = y[31]! ^ 1
    expect(() => Sm2PublicKey.fromCoordinates(key.publicKey.x, y)).toThrow()
    expect(() =>
      keyFromJwk(
        { kty: 'EC', crv: 'SM2', x: key.publicKey.x.toString('base64url'), y: y.toString('base64url') },
        'public',
      ),
    ).toThrow()
  })
})

/** DER ECDSA-Sig-Value ↔ r ‖ s (32 bytes each). */
function derToRs(der: Buffer): Buffer {
  let at = 2 + (der[1]! & 0x80 ? der[1]! & 0x7f : 0)
  const int = () => {
    expect(der[at]).toBe(0x02)
    const len = der[at + 1]!
    const v = der.subarray(at + 2, at + 2 + len)
    at += 2 + len
    const trimmed = v[0] === 0 ? v.subarray(1) : v
    return Buffer.concat([Buffer.alloc(32 - trimmed.length), trimmed])
  }
  return Buffer.concat([int(), int()])
}
function rsToDer(rs: Buffer): Buffer {
  const int = (v: Buffer) => {
    let i = 0
    while (i < v.length - 1 && v[i] === 0) i++
    const t = v.subarray(i)
    const body = t[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), t]) : t
    return Buffer.concat([Buffer.from([0x02, body.length]), body])
  }
  const seq = Buffer.concat([int(rs.subarray(0, 32)), int(rs.subarray(32))])
  return Buffer.concat([Buffer.from([0x30, seq.length]), seq])
}
/** SubjectPublicKeyInfo of an SM2 public key: id-ecPublicKey with the curve 1.2.156.10197.1.301. */
function spkiPem(x: string, y: string): string {
  const der = Buffer.concat([
    hex('3059301306072a8648ce3d020106082a811ccf5501822d034200 04'),
    Buffer.from(x, 'base64url'),
    Buffer.from(y, 'base64url'),
  ])
  return `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PUBLIC KEY-----\n`
}

const hasOpenssl = spawnSync('openssl', ['version']).status === 0
if (!hasOpenssl) console.warn('SM2 OpenSSL interoperation tests skipped: no openssl binary on PATH')

describe.skipIf(!hasOpenssl)('SM2 interoperation with the OpenSSL command line (distid 1234567812345678)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tongban-sm2-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string) => path.join(dir, name)
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
  const header = (kid: string) => ({ alg: 'SM2' as const, kid, typ: 'tongban-client+jwt' })

  it('a JWS that OpenSSL signed (DER converted to r ‖ s) verifies in the gateway', () => {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', file('key.pem')])
    // The private key's public point, from OpenSSL's own text dump.
    const text = openssl(['pkey', '-in', file('key.pem'), '-text', '-noout'])
    const pubHex = (text.split('pub:')[1] ?? '').split('ASN1 OID')[0]!.replace(/[^0-9a-f]/g, '')
    expect(pubHex.slice(0, 2)).toBe('04')
    const jwk = {
      kty: 'EC',
      crv: 'SM2',
      x: Buffer.from(pubHex.slice(2, 66), 'hex').toString('base64url'),
      y: Buffer.from(pubHex.slice(66, 130), 'hex').toString('base64url'),
    }
    const input = `${Buffer.from(JSON.stringify(header('ossl'))).toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: 'xiangyang-sys', htm: 'POST' }),
    ).toString('base64url')}`
    writeFileSync(file('input'), input)
    openssl([
      'pkeyutl',
      '-sign',
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      'distid:1234567812345678',
      '-inkey',
      file('key.pem'),
      '-in',
      file('input'),
      '-out',
      file('sig.der'),
    ])
    const rs = derToRs(readFileSync(file('sig.der')))
    const token = `${input}.${rs.toString('base64url')}`
    const key = keyFromJwk(jwk, 'public')
    expect(verifyCompact(token, 'SM2', key)).toBe(true)
    // Under another identifier OpenSSL's signature is another one: the gateway refuses it.
    openssl([
      'pkeyutl',
      '-sign',
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      'distid:ALICE123@YAHOO.COM',
      '-inkey',
      file('key.pem'),
      '-in',
      file('input'),
      '-out',
      file('sig2.der'),
    ])
    expect(verifyCompact(`${input}.${derToRs(readFileSync(file('sig2.der'))).toString('base64url')}`, 'SM2', key)).toBe(
      false,
    )
    // Nor is it an ES256 signature, whatever its length.
    expect(verifyCompact(token, 'ES256', key)).toBe(false)
  })

  it('a JWS that the gateway signed verifies with openssl pkeyutl -verify, and a changed input does not', () => {
    const { privateJwk, publicJwk } = generateJwkPair('SM2')
    const token = signCompact({ iss: 'gw-420600', sub: 'case-1' }, header('gw'), keyFromJwk(privateJwk, 'private'))
    const [h, p, s] = token.split('.') as [string, string, string]
    writeFileSync(file('pub.pem'), spkiPem(String(publicJwk.x), String(publicJwk.y)))
    writeFileSync(file('gw-input'), `${h}.${p}`)
    writeFileSync(file('gw-sig.der'), rsToDer(Buffer.from(s, 'base64url')))
    const verify = (input: string) =>
      spawnSync('openssl', [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        file('pub.pem'),
        '-rawin',
        '-digest',
        'sm3',
        '-pkeyopt',
        'distid:1234567812345678',
        '-in',
        input,
        '-sigfile',
        file('gw-sig.der'),
      ])
    const ok = verify(file('gw-input'))
    expect(ok.status, ok.stderr.toString()).toBe(0)
    expect(ok.stdout.toString()).toContain('Signature Verified Successfully')
    writeFileSync(file('gw-other'), `${h}.${Buffer.from('{"iss":"gw-420600","sub":"case-2"}').toString('base64url')}`)
    expect(verify(file('gw-other')).status).not.toBe(0)
  })
})
