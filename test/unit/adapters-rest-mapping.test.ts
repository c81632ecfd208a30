import { describe, expect, it } from 'vitest'
import { applyMapping, getPath, pathProblem, setPath } from '../../adapters/rest/mapping.js'
import { normaliseTime } from '../../adapters/rest/status.js'

describe('getPath', () => {
  const source = { applicant: { name: '张三', tags: ['a', 'b'] }, form: { applicantPhone: '138' }, zero: 0, nil: null }

  it.each([
    ['applicant.name', '张三'],
    ['form.applicantPhone', '138'],
    ['applicant.tags.1', 'b'],
    ['applicant.tags.2', undefined],
    ['applicant.tags.x', undefined],
    ['applicant.name.first', undefined],
    ['zero', 0],
    ['nil', null],
    ['nil.x', undefined],
    ['missing.deeper', undefined],
    ['toString', undefined],
    ['applicant.hasOwnProperty', undefined],
  ])('%s → %j', (path, value) => {
    expect(getPath(source, path)).toEqual(value)
  })

  it('returns whole objects', () => {
    expect(getPath(source, 'applicant')).toEqual(source.applicant)
  })

  it('refuses prototype segments and empty segments', () => {
    expect(() => getPath(source, '__proto__.x')).toThrow(/not allowed/)
    expect(() => getPath(source, 'a..b')).toThrow(/empty segment/)
    expect(pathProblem('constructor')).toMatch(/not allowed/)
    expect(pathProblem('a.prototype')).toMatch(/not allowed/)
    expect(pathProblem('')).toBe('empty path')
    expect(pathProblem('a.b')).toBeNull()
  })
})

describe('setPath', () => {
  it('creates nested objects and overwrites non-objects on the way', () => {
    const t: Record<string, unknown> = { a: 1 }
    setPath(t, 'x.y.z', 1)
    setPath(t, 'x.y.w', 2)
    setPath(t, 'a.b', 3)
    expect(t).toEqual({ a: { b: 3 }, x: { y: { z: 1, w: 2 } } })
  })

  it('cannot reach the prototype', () => {
    expect(() => setPath({}, '__proto__.polluted', true)).toThrow()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('applyMapping', () => {
  it('maps paths and literals, leaves out missing sources, copies values', () => {
    const source = { form: { list: [1, 2] }, applicant: { name: 'n' } }
    const out = applyMapping(
      { 'a.name': 'applicant.name', list: 'form.list', lit: '=x', eq: '==y', gone: 'nope' },
      source,
    )
    expect(out).toEqual({ a: { name: 'n' }, list: [1, 2], lit: 'x', eq: '=y' })
    ;(out.list as number[]).push(3)
    expect(source.form.list).toEqual([1, 2])
  })
})

describe('normaliseTime', () => {
  it.each([
    ['2026-03-02 09:30:00', '2026-03-02T01:30:00.000Z'],
    ['2026-03-02T09:30', '2026-03-02T01:30:00.000Z'],
    ['2026-03-02T09:30:00Z', '2026-03-02T09:30:00.000Z'],
    ['2026-03-02T09:30:00+08:00', '2026-03-02T01:30:00.000Z'],
    [1772415000000, '2026-03-02T01:30:00.000Z'],
    [1772415000, '2026-03-02T01:30:00.000Z'],
    ['1772415000', '2026-03-02T01:30:00.000Z'],
    ['yesterday', null],
    ['', null],
    [null, null],
    [{}, null],
  ])('%j → %s', (input, output) => {
    expect(normaliseTime(input)).toBe(output)
  })
})
