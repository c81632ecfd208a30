import { describe, expect, it } from 'vitest'
import { Binding } from '../../config/schema.js'
import { bindingFor } from '../../src/domain/bindings.js'
import { index } from './region-fixture.js'

const b = (region: string, adapter: 'peer' | 'manual' | 'sim') => Binding.parse({ region, adapter })

describe('bindingFor', () => {
  const bindings = [b('*', 'manual'), b('420600', 'peer'), b('420300', 'sim'), b('Z42030001', 'manual')]
  it.each([
    ['420602', '420600'],
    ['420600', '420600'],
    ['420303', '420300'],
    ['Z42030001', 'Z42030001'],
    ['Z42030002', '420300'],
    ['610900', '*'],
  ])('%s is served by the binding of %s', (region, expected) => {
    expect(bindingFor(region, bindings, index)?.region).toBe(expected)
  })

  it('is null when nothing covers the region and there is no default', () => {
    expect(bindingFor('610900', [b('420600', 'peer')], index)).toBeNull()
  })
})
