/**
 * The difference between two JSON documents (two agreement versions), as a flat list of changed paths.
 * Objects are compared key by key; arrays of objects that carry an `item` key (an agreement's items) are
 * matched by that key, so removing one entry shows as one removal and not as every later entry changing;
 * other arrays are compared as whole values.
 */

export interface JsonChange {
  /** e.g. `items[hukou-transfer-spouse].modes`, `validTo` */
  path: string
  kind: 'added' | 'removed' | 'changed'
  before?: unknown
  after?: unknown
}

export function diffJson(before: unknown, after: unknown, path = ''): JsonChange[] {
  if (sameJson(before, after)) return []
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => {
      const p = path ? `${path}.${k}` : k
      if (!(k in after)) return [{ path: p, kind: 'removed' as const, before: before[k] }]
      if (!(k in before)) return [{ path: p, kind: 'added' as const, after: after[k] }]
      return diffJson(before[k], after[k], p)
    })
  }
  if (Array.isArray(before) && Array.isArray(after) && keyedByItem(before) && keyedByItem(after)) {
    const b = new Map(before.map((e) => [String(e.item), e]))
    const a = new Map(after.map((e) => [String(e.item), e]))
    const keys = [...new Set([...b.keys(), ...a.keys()])]
    return keys.flatMap((k) => {
      const p = `${path}[${k}]`
      if (!a.has(k)) return [{ path: p, kind: 'removed' as const, before: b.get(k) }]
      if (!b.has(k)) return [{ path: p, kind: 'added' as const, after: a.get(k) }]
      return diffJson(b.get(k), a.get(k), p)
    })
  }
  return [{ path, kind: 'changed', before, after }]
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function keyedByItem(list: unknown[]): list is { item: unknown }[] {
  return list.length > 0 && list.every((e) => isPlainObject(e) && typeof e.item === 'string')
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (isPlainObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    )
  return v
}
