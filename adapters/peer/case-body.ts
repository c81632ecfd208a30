/** The body of `POST /v1/cases` for a delivery: exactly the fields of PROTOCOL §4's CreateCase, nothing more. */
import type { OutboundCase } from '../../src/ports/region-adapter.js'

const MATERIAL_FIELDS = ['code', 'name', 'form', 'sha256', 'certificateId'] as const
const DELIVERY_FIELDS = ['method', 'address'] as const

/** Copies the named fields that have a value (the schema's optional fields take no null). */
function pick(source: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const v = source[f]
    if (v !== undefined && v !== null) out[f] = v
  }
  return out
}

/**
 * `externalRef` is our case id (the peer shows it as the origin's reference); `agent` and `delivery` only when
 * set, `applicant.phone` only when known. Gateway-side fields (scope, agreement, due date, our receipt) are not
 * sent: the peer resolves its own from the agreement it holds.
 */
export function createCaseBody(c: OutboundCase): Record<string, unknown> {
  const applicant: Record<string, unknown> = {
    kind: c.applicant.kind,
    name: c.applicant.name,
    idType: c.applicant.idType,
    idNumber: c.applicant.idNumber,
  }
  if (c.applicant.phone) applicant.phone = c.applicant.phone
  const body: Record<string, unknown> = {
    externalRef: c.caseId,
    item: c.item,
    mode: c.mode,
    originRegion: c.originRegion,
    processingRegion: c.processingRegion,
    applicant,
  }
  if (c.agent) body.agent = { window: c.agent.window, operator: c.agent.operator }
  body.form = c.form
  body.materials = c.materials.map((m) => pick(m, MATERIAL_FIELDS))
  if (c.delivery) body.delivery = pick(c.delivery, DELIVERY_FIELDS)
  return body
}
