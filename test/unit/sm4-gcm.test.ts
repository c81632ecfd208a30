/**
 * SM4 and SM4-GCM against published vectors: the SM4 block cipher example of GB/T 32907 (GM/T 0002)
 * appendix A, and the SM4-GCM example of RFC 8998 appendix A.1; the GCM construction also against node's own
 * AES-GCM (the same code over AES-128 must give node's ciphertext and tag).
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { gcmDecrypt, gcmEncrypt, sm4GcmDecrypt, sm4GcmEncrypt } from '../../src/security/sm4-gcm.js'

const hex = (s: string) => Buffer.from(s, 'hex')

describe('SM4 (GB/T 32907)', () => {
  it('encrypts the standard’s example: key = plaintext = 0123456789abcdeffedcba9876543210', () => {
    const key = hex('0123456789abcdeffedcba9876543210')
    const c = createCipheriv('sm4-ecb', key, null).setAutoPadding(false)
    expect(Buffer.concat([c.update(key), c.final()]).toString('hex')).toBe('681edf34d206965e86b3e94f536e4246')
  })
})

describe('SM4-GCM', () => {
  // RFC 8998 appendix A.1.
  const key = hex('0123456789ABCDEFFEDCBA9876543210')
  const iv = hex('00001234567800000000ABCD')
  const aad = hex('FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2')
  const plaintext = hex(
    'AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD' +
      'EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA',
  )
  const ciphertext =
    '17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735' +
    'D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D'
  const tag = '83DE3541E4C2B58177E065A9BF7B62EC'

  it('gives RFC 8998 A.1’s ciphertext and tag, and opens them', () => {
    const sealed = sm4GcmEncrypt(key, iv, plaintext, aad)
    expect(sealed.ciphertext.toString('hex').toUpperCase()).toBe(ciphertext)
    expect(sealed.tag.toString('hex').toUpperCase()).toBe(tag)
    expect(sm4GcmDecrypt(key, iv, hex(ciphertext), hex(tag), aad).equals(plaintext)).toBe(true)
  })

  it('refuses an altered ciphertext, tag, additional data or key', () => {
    const flip = (b: Buffer, i: number) => {
      const c = Buffer.from(b)
      c[i]! ^= 0x01
      return c
    }
    expect(() => sm4GcmDecrypt(key, iv, flip(hex(ciphertext), 5), hex(tag), aad)).toThrow(/authentication failed/)
    expect(() => sm4GcmDecrypt(key, iv, hex(ciphertext), flip(hex(tag), 15), aad)).toThrow(/authentication failed/)
    expect(() => sm4GcmDecrypt(key, iv, hex(ciphertext), hex(tag), flip(aad, 0))).toThrow(/authentication failed/)
    expect(() => sm4GcmDecrypt(flip(key, 0), iv, hex(ciphertext), hex(tag), aad)).toThrow(/authentication failed/)
    expect(() => sm4GcmDecrypt(key, iv, hex(ciphertext), hex(tag).subarray(0, 12), aad)).toThrow()
  })

  it('is GCM: over AES-128 it gives node’s aes-128-gcm ciphertext and tag, for lengths around the block size', () => {
    for (const length of [0, 1, 15, 16, 17, 18, 31, 32, 33, 100]) {
      for (const aadLength of [0, 1, 16, 20]) {
        const k = randomBytes(16)
        const n = randomBytes(12)
        const p = randomBytes(length)
        const a = randomBytes(aadLength)
        const node = createCipheriv('aes-128-gcm', k, n)
        node.setAAD(a)
        const expected = Buffer.concat([node.update(p), node.final()])
        const ours = gcmEncrypt('aes-128', k, n, p, a)
        expect(ours.ciphertext.equals(expected), `${length}/${aadLength}`).toBe(true)
        expect(ours.tag.equals(node.getAuthTag()), `${length}/${aadLength}`).toBe(true)
        expect(gcmDecrypt('aes-128', k, n, ours.ciphertext, ours.tag, a).equals(p)).toBe(true)
      }
    }
  })

  it('wants a 16-byte key and a 12-byte IV', () => {
    expect(() => sm4GcmEncrypt(randomBytes(32), iv, plaintext)).toThrow(/16 bytes/)
    expect(() => sm4GcmEncrypt(key, randomBytes(16), plaintext)).toThrow(/12 bytes/)
  })
})
