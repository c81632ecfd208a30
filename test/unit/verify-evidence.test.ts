/** The offline evidence verifier on input that is not a bundle at all (bundles themselves: test/http/evidence.test.ts). */
import { describe, expect, it } from 'vitest'
import { verifyEvidence } from '../../src/services/results/verify-evidence.js'

describe('verify-evidence on what is not a bundle', () => {
  it('answers with problems, never throws', () => {
    expect(verifyEvidence(null).problems[0]?.where).toBe('(bundle)')
    expect(verifyEvidence({ format: 'tongban-evidence/1' }).valid).toBe(false)
  })
})
