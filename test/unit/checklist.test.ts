import { describe, expect, it } from 'vitest'
import { FormField, Item } from '../../config/schema.js'
import { formJsonSchema, mergeChecklist } from '../../src/domain/checklist.js'

const base = {
  department: '市场监督管理局',
  departmentCode: 'samr',
  serviceObject: 'organization',
  statutoryLimit: { days: 20, unit: 'working_days' },
  promisedLimit: { days: 5, unit: 'working_days' },
  modes: ['full_online'],
}

const restaurant = Item.parse({
  ...base,
  code: 'food-licence',
  name: '食品经营许可',
  conditions: ['有与经营食品品种相适应的经营场所', '持有营业执照'],
  materials: [
    { code: 'business-licence', name: '营业执照', forms: ['paper'] },
    { code: 'floor-plan', name: '经营场所平面图', forms: ['paper', 'electronic'], nonEssential: true },
  ],
  formFields: [
    { name: 'shopName', label: '店铺名称', type: 'string', maxLength: 50 },
    { name: 'area', label: '经营面积', type: 'number' },
  ],
})
const signboard = Item.parse({
  ...base,
  code: 'signboard-permit',
  name: '户外招牌设置',
  department: '城市管理执法局',
  departmentCode: 'cgj',
  conditions: ['持有营业执照'],
  materials: [
    { code: 'business-licence', name: '营业执照', forms: ['e_certificate'], required: false, eCertificate: '营业执照' },
    { code: 'floor-plan', name: '经营场所平面图', forms: ['electronic'], nonEssential: true },
  ],
  formFields: [
    { name: 'shopName', label: '店铺名称', type: 'string', maxLength: 50, required: true },
    { name: 'area', label: '招牌面积（平方米）', type: 'integer' },
  ],
})
const fire = Item.parse({
  ...base,
  code: 'fire-safety-check',
  name: '公众聚集场所投入使用营业前消防安全检查',
  department: '消防救援支队',
  departmentCode: 'fire',
  materials: [
    { code: 'business-licence', name: '营业执照', forms: ['paper'] },
    { code: 'floor-plan', name: '经营场所平面图', forms: ['paper'] },
  ],
  formFields: [
    { name: 'area', label: '经营面积', type: 'number' },
    { name: 'shopName', label: '店铺名称', type: 'string', maxLength: 50 },
  ],
})

describe('mergeChecklist', () => {
  const checklist = mergeChecklist([restaurant, signboard, fire])

  it('lists a shared material once with every item that needs it', () => {
    expect(checklist.materials.map((m) => [m.code, m.items])).toEqual([
      ['business-licence', ['food-licence', 'signboard-permit', 'fire-safety-check']],
      ['floor-plan', ['food-licence', 'signboard-permit', 'fire-safety-check']],
    ])
  })

  it('merges material properties: required if any, non-essential if all, forms united, first e-certificate', () => {
    const [licence, plan] = checklist.materials
    expect(licence).toMatchObject({ required: true, nonEssential: false, eCertificate: '营业执照' })
    expect(licence?.forms).toEqual(['paper', 'e_certificate'])
    expect(plan).toMatchObject({ required: true, nonEssential: false, forms: ['paper', 'electronic'] })
    const twoItems = mergeChecklist([restaurant, signboard])
    expect(twoItems.materials[1]?.nonEssential).toBe(true)
  })

  it('does not alter the items it merges', () => {
    expect(restaurant.materials[0]?.forms).toEqual(['paper'])
    expect(restaurant.formFields[0]?.required).toBe(false)
  })

  it('lists a shared condition once', () => {
    expect(checklist.conditions).toEqual([
      { text: '有与经营食品品种相适应的经营场所', items: ['food-licence'] },
      { text: '持有营业执照', items: ['food-licence', 'signboard-permit'] },
    ])
  })

  it('asks an identically defined field once, required if any item requires it', () => {
    const shopName = checklist.formFields.find((f) => f.name === 'shopName')
    expect(shopName).toEqual({
      name: 'shopName',
      label: '店铺名称',
      type: 'string',
      maxLength: 50,
      required: true,
      items: ['food-licence', 'signboard-permit', 'fire-safety-check'],
    })
    expect(checklist.formFields.map((f) => f.name)).toEqual(['shopName', 'area'])
  })

  it('reports a field defined differently, keeping the first definition', () => {
    expect(checklist.conflicts).toEqual([
      {
        name: 'area',
        items: ['food-licence', 'signboard-permit', 'fire-safety-check'],
        differences: ['type', 'label'],
      },
    ])
    const area = checklist.formFields.find((f) => f.name === 'area')
    expect(area).toMatchObject({ type: 'number', label: '经营面积', items: ['food-licence', 'fire-safety-check'] })
  })

  it('has no conflicts for one item', () => {
    expect(mergeChecklist([restaurant]).conflicts).toEqual([])
  })
})

describe('formJsonSchema', () => {
  const fields = [
    { name: 'shopName', label: '店铺名称', type: 'string', required: true, maxLength: 50, pattern: '^\\S.*$' },
    { name: 'staff', label: '从业人数', type: 'integer' },
    { name: 'area', label: '经营面积', type: 'number', required: true },
    { name: 'chain', label: '是否连锁', type: 'boolean' },
    { name: 'openingDate', label: '开业日期', type: 'date' },
    { name: 'category', label: '经营类别', type: 'enum', options: ['热食类', '冷食类'], required: true },
  ].map((f) => FormField.parse(f))

  it('writes a closed draft 2020-12 object schema', () => {
    expect(formJsonSchema(fields)).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      properties: {
        shopName: { type: 'string', title: '店铺名称', maxLength: 50, pattern: '^\\S.*$' },
        staff: { type: 'integer', title: '从业人数' },
        area: { type: 'number', title: '经营面积' },
        chain: { type: 'boolean', title: '是否连锁' },
        openingDate: { type: 'string', title: '开业日期', format: 'date' },
        category: { type: 'string', title: '经营类别', enum: ['热食类', '冷食类'] },
      },
      required: ['shopName', 'area', 'category'],
    })
  })

  it('keeps the first of two fields with one name, and an empty required list', () => {
    const schema = formJsonSchema([
      FormField.parse({ name: 'x', label: 'first', type: 'string' }),
      FormField.parse({ name: 'x', label: 'second', type: 'number' }),
    ])
    expect(schema.properties).toEqual({ x: { type: 'string', title: 'first' } })
    expect(schema.required).toEqual([])
  })
})
