import { describe, expect, it } from 'vitest'
import { diffJson } from '../../src/domain/json-diff.js'

describe('diffJson', () => {
  it('finds nothing between equal documents, whatever the key order', () => {
    expect(diffJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([])
  })
  it('names added, removed and changed keys by path', () => {
    expect(diffJson({ a: 1, b: { c: 2 }, d: 1 }, { a: 2, b: { c: 2, e: 3 } })).toEqual([
      { path: 'a', kind: 'changed', before: 1, after: 2 },
      { path: 'b.e', kind: 'added', after: 3 },
      { path: 'd', kind: 'removed', before: 1 },
    ])
  })
  it('matches agreement items by their item code', () => {
    const before = {
      items: [
        { item: 'x', modes: ['a'] },
        { item: 'y', modes: ['a', 'b'] },
      ],
    }
    const after = {
      items: [
        { item: 'y', modes: ['b'] },
        { item: 'z', modes: ['a'] },
      ],
    }
    expect(diffJson(before, after)).toEqual([
      { path: 'items[x]', kind: 'removed', before: { item: 'x', modes: ['a'] } },
      { path: 'items[y].modes', kind: 'changed', before: ['a', 'b'], after: ['b'] },
      { path: 'items[z]', kind: 'added', after: { item: 'z', modes: ['a'] } },
    ])
  })
})
