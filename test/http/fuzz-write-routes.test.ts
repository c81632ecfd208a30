/**
 * Property: no input gets a 5xx, and a refused request stores nothing. Every write route (POST, PUT, PATCH,
 * DELETE) of the OpenAPI document is fuzzed, so a new route is covered without touching this file: bodies are
 * generated from the route's own request schema, with strings that PostgreSQL cannot store (NUL, lone
 * surrogates), huge and odd numbers and wrong types mixed in. A fixed seed and a bounded number of runs keep
 * it deterministic and short enough for CI.
 */
import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminRouteOf } from '../../src/services/authz.js'
import { CaseCreated } from '../../src/services/cases/schemas.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

const SEED = 20261206
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 25)

type Schema = Record<string, unknown>
interface WriteRoute {
  method: string
  path: string
  body: Schema | undefined
}

let t: TestApp
let shiyan: TestClient
let db: pg.Client
let caseId: string
let doc: { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } }

const nasty = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '',
  ' ',
  '😀',
  '𠀀',
  '42030319770707777X',
  '13977770007',
  '../../etc/passwd',
  "'; drop table cases; --",
  '%00',
  'x'.repeat(5000),
)
const oddNumber = fc.oneof(
  fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53, 2 ** 31, -(2 ** 31) - 1, 0.5, 1e-300, 1e19),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
)
const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: nasty },
)
const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  oddNumber,
  anyString,
  fc.constant([]),
  fc.constant({}),
  fc.array(anyString, { maxLength: 3 }),
)

function resolve(schema: Schema): Schema {
  const ref = schema.$ref
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '')
    return resolve(doc.components?.schemas?.[name] ?? {})
  }
  return schema
}

/** Values shaped by the schema, each node replaced by a wrong or hostile value now and then. */
function fromSchema(raw: Schema, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(raw)
  const shaped = shapedBy(schema, depth)
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: wrongType })
}

function shapedBy(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return wrongType
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)))
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return fromSchema(schema.allOf[0] as Schema, depth + 1)
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.oneof(fc.constantFrom(...(schema.enum as unknown[])), anyString)
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string':
      return anyString
    case 'integer':
    case 'number':
      return oddNumber
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array': {
      const items = (schema.items as Schema | undefined) ?? {}
      return fc.array(fromSchema(items, depth + 1), { maxLength: 3 })
    }
    case 'object':
    case undefined: {
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      const required = new Set((schema.required ?? []) as string[])
      const record: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [k, v] of Object.entries(properties)) record[k] = fromSchema(v, depth + 1)
      const known = fc.record(record, { requiredKeys: [...required].filter((k) => k in record) })
      // An unknown member now and then (strict schemas refuse it), its name hostile too.
      return fc
        .tuple(known, fc.option(fc.tuple(anyString, wrongType), { freq: 5 }))
        .map(([obj, extra]) => (extra ? { ...obj, [extra[0]]: extra[1] } : obj))
    }
    default:
      return wrongType
  }
}

function writeRoutes(): WriteRoute[] {
  const routes: WriteRoute[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of ['post', 'put', 'patch', 'delete']) {
      const op = ops[method]
      if (!op) continue
      const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined
      routes.push({ method: method.toUpperCase(), path, body })
    }
  }
  return routes
}

async function counts(): Promise<string> {
  const { rows } = await db.query(
    `select (select count(*) from cases)::int as cases, (select count(*) from case_events)::int as events,
            (select count(*) from outbox)::int as outbox`,
  )
  return JSON.stringify(rows[0])
}

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300'])
  await t.client('xiangyang-gov', ['420600'])
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
  const res = await shiyan.call('POST', '/v1/cases', hukouCertificate(), { 'idempotency-key': 'fuzz-seed-case' })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  caseId = CaseCreated.parse(res.body).case.id
  // Outbox rows stay put, so that counting them shows whether a refused request wrote one.
  await t.runtime.relay.stop()
  doc = (await t.call('GET', '/openapi.json')).body
})
afterAll(async () => {
  await db?.end()
  await t?.close()
})

describe('every write route, fuzzed', () => {
  it('finds the write routes in the OpenAPI document', () => {
    const names = writeRoutes().map((r) => `${r.method} ${r.path}`)
    expect(names).toEqual(
      expect.arrayContaining(['POST /v1/cases', 'POST /v1/cases/{id}/events', 'POST /v1/admin/clients']),
    )
    expect(names.length).toBeGreaterThanOrEqual(15)
  })

  it('answers no 5xx and stores nothing for a refused request', async () => {
    let n = 0
    for (const route of writeRoutes()) {
      // Path parameters: the real case (to reach the deepest checks), or hostile text.
      const param = fc.oneof(
        { weight: 3, arbitrary: fc.constant(caseId) },
        { weight: 1, arbitrary: anyString.map((s) => encodeURIComponent(s.slice(0, 100))) },
      )
      const body = route.body ? fromSchema(route.body) : fc.constant(undefined)
      const asAdmin = route.path.startsWith('/v1/admin/')
      // Each administrative route with a role that holds its duty, so that the fuzz reaches its checks.
      const duties = adminRouteOf(route.method, route.path)?.duties ?? []
      const person = duties.includes('configure') ? t.admin : duties.includes('secure') ? t.security : t.auditor
      await fc.assert(
        fc.asyncProperty(param, body, async (p, b) => {
          const path = route.path.replace(/\{[^}]+\}/g, p === '' ? 'x' : p)
          const text = b === undefined ? undefined : JSON.stringify(b)
          const before = await counts()
          const res = asAdmin
            ? await person(route.method, path, text)
            : await shiyan.call(route.method, path, text, { 'idempotency-key': `fuzz-${n++}` })
          expect(
            res.status,
            `${route.method} ${path} ${text?.slice(0, 300)} → ${JSON.stringify(res.body)}`,
          ).toBeLessThan(500)
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toContain('application/problem+json')
            expect(await counts(), `${route.method} ${path} stored something and answered ${res.status}`).toBe(before)
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      )
    }
  }, 120_000)
})
