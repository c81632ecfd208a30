import type { FormField, Item, Material } from '../../config/schema.js'

/** A material of the merged checklist and the codes of the items that need it. */
export interface ChecklistMaterial extends Material {
  items: string[]
}

/** A form field of the merged form and the codes of the items whose identical definition it stands for. */
export interface ChecklistField extends FormField {
  items: string[]
}

/** Items that define a field of the same name differently: `differences` names the differing properties. */
export interface FieldConflict {
  name: string
  items: string[]
  differences: string[]
}

/** A material that an electronic certificate (电子证照) replaces: the applicant need not bring the paper. */
export interface ECertificateReplacement {
  material: string
  name: string
  certificate: string
  items: string[]
}

/** The one-time notice (一次告知) of a set of items: every condition, material and form field once. */
export interface Checklist {
  conditions: { text: string; items: string[] }[]
  materials: ChecklistMaterial[]
  /** The materials of `materials` that an electronic certificate replaces, with its type name. */
  eCertificates: ECertificateReplacement[]
  formFields: ChecklistField[]
  conflicts: FieldConflict[]
}

/** The properties that make two field definitions the same question; `required` is merged instead. */
const FIELD_PROPERTIES = ['type', 'label', 'options', 'pattern', 'maxLength', 'personal'] as const

function fieldDifferences(a: FormField, b: FormField): string[] {
  return FIELD_PROPERTIES.filter((p) => JSON.stringify(a[p] ?? null) !== JSON.stringify(b[p] ?? null))
}

function addOnce<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value)
}

/**
 * Merges the conditions, materials and form fields of several items (一次告知, 一表申请), in order of
 * first appearance. Materials merge by `code`: required if any item requires it, non-essential (容缺) only
 * if every item says so, forms united, the first `eCertificate` kept. Conditions merge by text. Fields merge
 * by `name` when type, label, options, pattern and maxLength agree (required if any requires it); otherwise
 * the first definition stays in `formFields` and a `FieldConflict` names every item defining the field
 * and the properties that differ.
 *
 * @example
 * mergeChecklist([restaurantLicence, signboardPermit]).materials
 * // [{ code: 'business-licence', items: ['restaurant-licence', 'signboard-permit'], … }, …]
 */
export function mergeChecklist(items: Item[]): Checklist {
  const conditions = new Map<string, { text: string; items: string[] }>()
  const materials = new Map<string, ChecklistMaterial>()
  const fields = new Map<string, ChecklistField>()
  const conflicts = new Map<string, FieldConflict>()
  const definedBy = new Map<string, string[]>()

  for (const item of items) {
    for (const text of item.conditions) {
      const known = conditions.get(text)
      if (known) addOnce(known.items, item.code)
      else conditions.set(text, { text, items: [item.code] })
    }

    for (const material of item.materials) {
      const known = materials.get(material.code)
      if (!known) {
        materials.set(material.code, { ...material, forms: [...material.forms], items: [item.code] })
        continue
      }
      addOnce(known.items, item.code)
      known.required ||= material.required
      known.nonEssential &&= material.nonEssential
      for (const form of material.forms) addOnce(known.forms, form)
      known.eCertificate ??= material.eCertificate
    }

    for (const field of item.formFields) {
      const definers = definedBy.get(field.name)
      if (definers) addOnce(definers, item.code)
      else definedBy.set(field.name, [item.code])
      const known = fields.get(field.name)
      if (!known) {
        fields.set(field.name, { ...field, items: [item.code] })
        continue
      }
      const differences = fieldDifferences(known, field)
      if (differences.length === 0) {
        addOnce(known.items, item.code)
        known.required ||= field.required
        continue
      }
      const conflict = conflicts.get(field.name) ?? { name: field.name, items: [], differences: [] }
      for (const d of differences) addOnce(conflict.differences, d)
      conflicts.set(field.name, conflict)
    }
  }
  for (const conflict of conflicts.values()) conflict.items = definedBy.get(conflict.name) ?? []

  const merged = [...materials.values()]
  return {
    conditions: [...conditions.values()],
    materials: merged,
    eCertificates: merged.flatMap((m) =>
      m.eCertificate ? [{ material: m.code, name: m.name, certificate: m.eCertificate, items: [...m.items] }] : [],
    ),
    formFields: [...fields.values()],
    conflicts: [...conflicts.values()],
  }
}

/** A JSON Schema (draft 2020-12) property as `formJsonSchema` writes it. */
export interface FormPropertySchema {
  type: 'string' | 'integer' | 'number' | 'boolean'
  title: string
  format?: 'date'
  enum?: string[]
  pattern?: string
  maxLength?: number
}

/** The JSON Schema (draft 2020-12) of a form: a closed object. */
export interface FormJsonSchema {
  $schema: 'https://json-schema.org/draft/2020-12/schema'
  type: 'object'
  additionalProperties: false
  properties: Record<string, FormPropertySchema>
  required: string[]
}

/**
 * The JSON Schema (draft 2020-12) of a form made of `fields`: a closed object whose properties carry the
 * label as `title`; `date` becomes a string of format `date`, `enum` a string enum of its options; `pattern`
 * and `maxLength` are carried; required fields are listed in `required`. A repeated name keeps the first.
 *
 * @example
 * formJsonSchema([{ name: 'shopName', label: '店铺名称', type: 'string', required: true, maxLength: 50 }])
 * // { $schema: '…/2020-12/schema', type: 'object', additionalProperties: false,
 * //   properties: { shopName: { type: 'string', title: '店铺名称', maxLength: 50 } }, required: ['shopName'] }
 */
export function formJsonSchema(fields: FormField[]): FormJsonSchema {
  const properties: Record<string, FormPropertySchema> = {}
  const required: string[] = []
  for (const field of fields) {
    if (Object.hasOwn(properties, field.name)) continue
    const property: FormPropertySchema = { type: 'string', title: field.label }
    if (field.type === 'integer' || field.type === 'number' || field.type === 'boolean') property.type = field.type
    if (field.type === 'date') property.format = 'date'
    if (field.type === 'enum') property.enum = [...(field.options ?? [])]
    if (property.type === 'string') {
      if (field.pattern !== undefined) property.pattern = field.pattern
      if (field.maxLength !== undefined) property.maxLength = field.maxLength
    }
    properties[field.name] = property
    if (field.required) required.push(field.name)
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    properties,
    required,
  }
}
