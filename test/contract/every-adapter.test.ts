/** Every adapter kind the configuration accepts has its own file here that runs the conformance suite. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { AdapterKind } from '../../config/schema.js'

describe('the adapter conformance suite', () => {
  it.each(AdapterKind.options)('runs for %s from its own file in test/contract/', (kind) => {
    const file = new URL(`./${kind}.test.ts`, import.meta.url)
    expect(readFileSync(file, 'utf8')).toMatch(/^adapterConformance\(/m)
  })
})
