/**
 * The OpenAPI document as generated clients see it (issue 13 item 8): a stable, unique `operationId` per
 * operation, every status an operation can answer declared with the problem schema, and public routes that
 * say so with `security: []`. Built from the route declarations alone (no database).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { openApiDocument } from '../../src/openapi-document.js'

interface Operation {
  operationId?: string
  security?: Record<string, string[]>[]
  requestBody?: unknown
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }>; headers?: object }>
}

let operations: { key: string; path: string; method: string; op: Operation }[] = []

beforeAll(async () => {
  const doc = (await openApiDocument()) as { paths: Record<string, Record<string, Operation>> }
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
  )
})

const publicRoutes = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /.well-known/jwks.json',
  'POST /v1/results/verify',
  'GET /v1/checkpoints/{gatewayId}',
]

describe('OpenAPI document', () => {
  it('describes every operation (54 today)', () => {
    expect(operations.length).toBeGreaterThanOrEqual(54)
  })

  it('gives every operation a unique camelCase operationId', () => {
    const ids = operations.map((o) => o.op.operationId)
    for (const { key, op } of operations) expect(op.operationId, key).toMatch(/^[a-z][A-Za-z]+$/)
    expect(new Set(ids).size, JSON.stringify(ids)).toBe(ids.length)
  })

  it('keeps the operationIds that clients were generated with', () => {
    const byKey = Object.fromEntries(operations.map((o) => [o.key, o.op.operationId]))
    expect(byKey).toMatchObject({
      'POST /v1/cases': 'createCase',
      'GET /v1/cases': 'listCases',
      'GET /v1/cases/{id}': 'getCase',
      'GET /v1/cases/{id}/events': 'getCaseEvents',
      'POST /v1/cases/{id}/events': 'postCaseEvent',
      'POST /v1/routes/resolve': 'resolveRoute',
      'POST /v1/results/verify': 'verifyResult',
      'POST /v1/admin/agreements/{id}/versions/{version}/activate': 'activateAgreementVersion',
    })
  })

  it('declares 503 on every operation, as a problem (or the readiness report)', () => {
    for (const { key, op } of operations) {
      const answer = op.responses['503']
      expect(answer, `${key} must declare 503`).toBeDefined()
      if (key !== 'GET /readyz') {
        expect(answer?.content?.['application/problem+json']?.schema?.$ref, key).toBe('#/components/schemas/Problem')
      }
    }
  })

  it('declares 401 and 429 (with Retry-After) on every operation that needs a caller', () => {
    const authenticated = operations.filter((o) => !publicRoutes.includes(o.key))
    expect(authenticated.length).toBe(operations.length - publicRoutes.length)
    for (const { key, op } of authenticated) {
      expect(op.security, key).toEqual([{ bearer: [] }, { session: [] }])
      expect(op.responses['401']?.content?.['application/problem+json'], `${key} must declare 401`).toBeDefined()
      expect(op.responses['429']?.headers, `${key} must declare 429 with Retry-After`).toHaveProperty('Retry-After')
    }
  })

  it('declares 403, 413 and 415 on every authenticated operation that takes a body', () => {
    for (const { key, method, op } of operations) {
      if (publicRoutes.includes(key) || !['post', 'put'].includes(method)) continue
      for (const status of ['403', '413', '415'])
        expect(op.responses[status], `${key} must declare ${status}`).toBeDefined()
    }
  })

  it('marks the public routes with an explicit empty security requirement', () => {
    for (const key of publicRoutes) {
      const found = operations.find((o) => o.key === key)
      expect(found, key).toBeDefined()
      expect(found?.op.security, key).toEqual([])
    }
  })
})
