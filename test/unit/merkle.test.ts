import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  chainHeadLeafHash,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyInclusion,
} from '../../src/domain/merkle.js'

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(`leaf ${i}`))
const flip = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1)

describe('merkle tree (RFC 6962)', () => {
  it('hashes the empty tree, a leaf and a node with their domain prefixes', () => {
    expect(merkleRoot([])).toBe(createHash('sha256').digest('hex'))
    expect(leafHash('')).toBe(
      createHash('sha256')
        .update(Buffer.from([0]))
        .digest('hex'),
    )
    const [a, b] = leaves(2) as [string, string]
    expect(merkleRoot([a])).toBe(a)
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from([1]), Buffer.from(a, 'hex'), Buffer.from(b, 'hex')]))
      .digest('hex')
    expect(nodeHash(a, b)).toBe(expected)
    expect(merkleRoot([a, b])).toBe(expected)
  })

  it('matches the RFC 6962 reference root for the test vector leaves', () => {
    // certificate-transparency-go's merkle test vectors: the 8 leaves and the root of all of them.
    const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']
    const hashes = inputs.map((hex) => leafHash(Buffer.from(hex, 'hex')))
    expect(merkleRoot(hashes)).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328')
    expect(merkleRoot(hashes.slice(0, 3))).toBe('aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77')
  })

  it('proves and verifies every leaf of every tree of 1 to 17 leaves', () => {
    for (let n = 1; n <= 17; n++) {
      const ls = leaves(n)
      const root = merkleRoot(ls)
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(ls, i)
        expect(verifyInclusion(ls[i] as string, i, n, proof, root), `size ${n} leaf ${i}`).toBe(true)
        // Any change fails: another leaf, index, size, root, or a changed or missing path element.
        expect(verifyInclusion(flip(ls[i] as string), i, n, proof, root)).toBe(false)
        expect(verifyInclusion(ls[i] as string, i, n, proof, flip(root))).toBe(false)
        if (n > 1) {
          expect(verifyInclusion(ls[i] as string, (i + 1) % n, n, proof, root)).toBe(false)
          expect(verifyInclusion(ls[i] as string, i, n, proof.slice(1), root)).toBe(false)
          expect(verifyInclusion(ls[i] as string, i, n, [flip(proof[0] as string), ...proof.slice(1)], root)).toBe(
            false,
          )
        }
      }
    }
  })

  it('refuses indexes outside the tree and malformed hashes', () => {
    const ls = leaves(3)
    expect(() => inclusionProof(ls, 3)).toThrow(RangeError)
    expect(() => inclusionProof(ls, -1)).toThrow(RangeError)
    expect(verifyInclusion(ls[0] as string, 3, 3, [], merkleRoot(ls))).toBe(false)
    expect(verifyInclusion('zz', 0, 1, [], 'zz')).toBe(false)
  })

  it('hashes a chain head leaf over its canonical JSON', () => {
    const leaf = { caseId: 'c1', seq: 2, head: 'ab'.repeat(32) }
    expect(chainHeadLeafHash(leaf)).toBe(leafHash(`{"caseId":"c1","head":"${'ab'.repeat(32)}","seq":2}`))
    expect(chainHeadLeafHash({ ...leaf, seq: 3 })).not.toBe(chainHeadLeafHash(leaf))
  })
})
