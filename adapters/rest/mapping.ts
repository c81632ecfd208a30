/**
 * Declarative field mapping for legacy systems: a target dot path → a source dot path, or a literal.
 *
 * - `"applicant.name"`: the value at that path of the source (objects and arrays are copied whole);
 *   array elements by index: `"materials.0.code"`.
 * - `"=text"`: the literal string `text` (`"==x"` is the literal `=x`).
 * - A source path with no value leaves the target field out.
 *
 * Only own properties are read, and `__proto__`, `constructor` and `prototype` are refused as segments, so
 * a mapping can neither read nor write through prototypes.
 */

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

/** Why a dot path is unusable, or null: empty segments and prototype keys are refused. */
export function pathProblem(path: string): string | null {
  if (path === '') return 'empty path'
  for (const seg of path.split('.')) {
    if (seg === '') return `empty segment in "${path}"`
    if (FORBIDDEN.has(seg)) return `"${seg}" is not allowed in a path`
  }
  return null
}

function segments(path: string): string[] {
  const problem = pathProblem(path)
  if (problem) throw new Error(problem)
  return path.split('.')
}

/** The value at `path` in `source`, or undefined. */
export function getPath(source: unknown, path: string): unknown {
  let cur: unknown = source
  for (const seg of segments(path)) {
    if (cur === null || typeof cur !== 'object') return undefined
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined
      cur = cur[Number(seg)]
    } else {
      if (!Object.hasOwn(cur, seg)) return undefined
      cur = (cur as Record<string, unknown>)[seg]
    }
  }
  return cur
}

/** Sets `value` at `path` in `target`, creating plain objects on the way (an existing non-object is replaced). */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segs = segments(path)
  let cur = target
  for (const seg of segs.slice(0, -1)) {
    const next = Object.hasOwn(cur, seg) ? cur[seg] : undefined
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const created: Record<string, unknown> = {}
      cur[seg] = created
      cur = created
    } else {
      cur = next as Record<string, unknown>
    }
  }
  cur[segs.at(-1)!] = value
}

/** Resolves one mapping value against `source`: a literal (`=…`) or a dot path. */
export function resolveSource(source: unknown, spec: string): unknown {
  return spec.startsWith('=') ? spec.slice(1) : getPath(source, spec)
}

/** Builds an object from `mapping` (target path → source spec), in the mapping's order. */
export function applyMapping(mapping: Record<string, string>, source: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [target, spec] of Object.entries(mapping)) {
    const value = resolveSource(source, spec)
    if (value !== undefined) setPath(out, target, structuredClone(value))
  }
  return out
}
