/**
 * Validates a submitted form against form field definitions (an item's, or a bundle's merged ones).
 * Pure: returns the problems as `{ path, message }`, empty when the form is acceptable.
 */
import type { FormField } from '../../config/schema.js'

export interface FormProblem {
  path: string
  message: string
}

const isoDate = /^\d{4}-\d{2}-\d{2}$/

function checkValue(f: FormField, v: unknown): string | null {
  switch (f.type) {
    case 'string':
    case 'date':
    case 'enum': {
      if (typeof v !== 'string') return 'must be a string'
      if (f.type === 'date' && (!isoDate.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))) {
        return 'must be a date (YYYY-MM-DD)'
      }
      if (f.type === 'enum' && !(f.options ?? []).includes(v)) return `must be one of ${(f.options ?? []).join(', ')}`
      if (f.maxLength !== undefined && v.length > f.maxLength) return `must be at most ${f.maxLength} characters`
      if (f.pattern !== undefined && !new RegExp(f.pattern, 'u').test(v)) return 'has the wrong format'
      if (f.required && v.trim() === '') return 'is required'
      return null
    }
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? null : 'must be an integer'
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'must be a number'
    case 'boolean':
      return typeof v === 'boolean' ? null : 'must be true or false'
  }
}

/**
 * @example validateForm(item.formFields, { applicantName: '张三' }) // [] or [{ path: 'form.bedCount', message: 'is required' }]
 */
export function validateForm(fields: readonly FormField[], form: Record<string, unknown>): FormProblem[] {
  const problems: FormProblem[] = []
  const known = new Map(fields.map((f) => [f.name, f]))
  for (const name of Object.keys(form)) {
    if (!known.has(name)) problems.push({ path: `form.${name}`, message: 'is not a field of this form' })
  }
  for (const f of fields) {
    const v = form[f.name]
    if (v === undefined || v === null) {
      if (f.required) problems.push({ path: `form.${f.name}`, message: `is required (${f.label})` })
      continue
    }
    const problem = checkValue(f, v)
    if (problem) problems.push({ path: `form.${f.name}`, message: `${problem} (${f.label})` })
  }
  return problems
}
