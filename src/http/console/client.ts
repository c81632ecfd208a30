/**
 * The console's only way to data: the gateway's own documented /v1 routes, called in-process with the
 * signed-in person's session cookie and CSRF token, so every page obeys exactly the authorisation a
 * program calling the API would meet. One function per API call, grouped by the page that uses it; a
 * route added later (checklist, uploads, reports) is wired here.
 */
import type { z } from 'zod'
import type { Agreement, Item, Thing } from '../../../config/schema.js'
import type { AgreementSummary, AgreementVersionView } from '../../services/admin/agreements.js'
import type { KeyRevocationView, RevokeKeyBody } from '../../services/admin/key-revocations.js'
import type { CaseView, EventView } from '../../services/cases/schemas.js'
import type { BindingView } from '../../services/dispatch/bindings-admin.js'
import type { PerformanceReport } from '../../services/reports/performance.js'
import type { VolumeReport } from '../../services/reports/volume.js'

export type Fetcher = (path: string, init: RequestInit) => Response | Promise<Response>

export interface Problem {
  status: number
  code?: string
  title?: string
  detail?: string
  errors?: { path: string; message: string }[]
  [k: string]: unknown
}

export type Answer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; problem: Problem }

export interface ResolveAnswer {
  kind: 'item' | 'thing' | 'sites'
  scope: string
  agreement: { id: string; version: number; name: string } | null
  thing?: { id: string; name: string; leadDepartment: string }
  dueDate: string
  dueAt: string
  routes: {
    item: { code: string; name: string; department: string }
    processingRegion: string
    scope: string
    agreement: { id: string; version: number; name: string }
    dueDate: string
  }[]
  refused: { item: { code: string; name: string }; processingRegion: string; code: string; detail: string }[]
  checklist: {
    conditions: { text: string; items: string[] }[]
    materials: (z.infer<typeof Item>['materials'][number] & { items: string[] })[]
    formFields: {
      name: string
      label: string
      type: string
      required?: boolean
      options?: string[]
      maxLength?: number
      items: string[]
    }[]
  }
}

export interface Region {
  code: string
  name: string
  level: string
  parent: string | null
  status?: string
  successors?: string[]
  tags?: string[]
}
export type Case = z.infer<typeof CaseView>
export type CaseEvent = z.infer<typeof EventView>

export type Binding = z.infer<typeof BindingView>
export interface ClientRow {
  id: string
  name: string | null
  regions: string[]
  departments?: string[] | null
  status: string
  createdAt: string
  jwksUrl: string | null
}
export interface TokenRow {
  id: string
  role: string
  region: string | null
  window: string | null
  name: string | null
  departments?: string[] | null
  createdAt: string
  revokedAt: string | null
}
export interface QueueDepthRow {
  queue: string
  counts: Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed' | 'prioritized', number>
  oldestWaitingSeconds: number
}

export interface DeadLetterRow {
  id: number
  caseId: string
  kind: string
  /** Kind `event`: the event's seq. */
  seq: number | null
  region: string
  adapter: string
  reason: string
  attempts: number
  createdAt: string
  redrivenAt: string | null
}

export interface FileMeta {
  sha256: string
  mediaType: string
  size: number
  createdAt: string
  created: boolean
}
export type KeyRevocation = z.infer<typeof KeyRevocationView>
/** One child's result in a bundle's or multi-site case's results, issued together. */
export interface BundleResults {
  case: string
  outcome: 'approved' | 'denied' | null
  results: (Record<string, unknown> & { case: string; item: string | null; processingRegion: string | null })[]
}
/** A download passed on as the API answered it (CSV, an evidence bundle). */
export interface Download {
  ok: boolean
  status: number
  body: string
  headers: Headers
}

/** A refused download's problem (the API answers problem+json; anything else keeps its status). */
export function problemOf(d: Download): Problem {
  try {
    return { status: d.status, ...(JSON.parse(d.body) as object) }
  } catch {
    return { status: d.status }
  }
}

export class ConsoleClient {
  constructor(
    private readonly fetcher: Fetcher,
    private readonly cookie: string,
    private readonly csrf: string,
  ) {}

  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const init: RequestInit = {
      method,
      headers: { cookie: this.cookie, 'x-csrf-token': this.csrf, accept: 'application/json', ...headers },
    }
    if (body !== undefined) {
      init.body = JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
    }
    const res = await this.fetcher(path, init)
    const text = await res.text()
    const parsed: unknown = text ? JSON.parse(text) : undefined
    if (res.ok) return { ok: true, status: res.status, body: parsed as T }
    return { ok: false, status: res.status, problem: { status: res.status, ...(parsed as object) } }
  }

  /** The answer as it came (no JSON parsing): for downloads the console hands on. */
  async raw(path: string, accept: string): Promise<Download> {
    const res = await this.fetcher(path, { method: 'GET', headers: { cookie: this.cookie, accept } })
    return { ok: res.ok, status: res.status, body: await res.text(), headers: res.headers }
  }

  // New case (workbench)
  items = (q: string) => this.call<{ items: Item[] }>('GET', `/v1/items${q ? `?q=${encodeURIComponent(q)}` : ''}`)
  things = () => this.call<{ things: Thing[] }>('GET', '/v1/things')
  item = (code: string) => this.call<Item>('GET', `/v1/items/${encodeURIComponent(code)}`)
  thing = (id: string) => this.call<Thing>('GET', `/v1/things/${encodeURIComponent(id)}`)
  regions = (query: string) => this.call<{ regions: Region[] }>('GET', `/v1/regions?${query}`)
  resolve = (input: Record<string, unknown>) => this.call<ResolveAnswer>('POST', '/v1/routes/resolve', input)
  createCase = (body: Record<string, unknown>, idempotencyKey: string) =>
    this.call<{ case: Case; receipt: string }>('POST', '/v1/cases', body, { 'idempotency-key': idempotencyKey })

  /** A material file, uploaded once (raw body with its media type); materials then reference its sha256. */
  upload = async (file: Blob, mediaType: string): Promise<Answer<FileMeta>> => {
    const res = await this.fetcher('/v1/files', {
      method: 'POST',
      headers: {
        cookie: this.cookie,
        'x-csrf-token': this.csrf,
        accept: 'application/json',
        'content-type': mediaType,
      },
      body: new Uint8Array(await file.arrayBuffer()),
    })
    const text = await res.text()
    const parsed: unknown = text ? JSON.parse(text) : undefined
    if (res.ok) return { ok: true, status: res.status, body: parsed as FileMeta }
    return { ok: false, status: res.status, problem: { status: res.status, ...(parsed as object) } }
  }

  // My cases, a case
  cases = (query: URLSearchParams) =>
    this.call<{ cases: Case[]; nextCursor: string | null }>('GET', `/v1/cases?${query.toString()}`)
  /** `POST /v1/cases/search`: the list's filters and the search terms in a body (identity numbers never in a URL). */
  searchCases = (body: Record<string, unknown>) =>
    this.call<{ cases: Case[]; nextCursor: string | null; total: number }>('POST', '/v1/cases/search', body)
  case = (id: string) => this.call<Case>('GET', `/v1/cases/${encodeURIComponent(id)}`)
  events = (id: string) => this.call<{ events: CaseEvent[] }>('GET', `/v1/cases/${encodeURIComponent(id)}/events`)
  result = (id: string) => this.call<Record<string, unknown>>('GET', `/v1/cases/${encodeURIComponent(id)}/result`)
  bundleResult = (id: string) => this.call<BundleResults>('GET', `/v1/cases/${encodeURIComponent(id)}/result`)
  /** A material file's bytes as stored (its uploader and the parties of a case that references it). */
  file = async (sha256: string) => {
    const res = await this.fetcher(`/v1/files/${encodeURIComponent(sha256)}`, {
      method: 'GET',
      headers: { cookie: this.cookie },
    })
    return { ok: res.ok, status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers }
  }
  /** PROTOCOL 1.1 §5: whether a result names this applicant (the number travels in the body only). */
  verifyResult = (result: string, applicant: { idType: string; idNumber: string }) =>
    this.call<{ valid: boolean; applicantMatches?: boolean; reasons?: string[] }>('POST', '/v1/results/verify', {
      result,
      applicant,
    })
  evidence = (id: string) => this.raw(`/v1/cases/${encodeURIComponent(id)}/evidence`, 'application/json')
  postEvent = (id: string, event: { type: string; data?: Record<string, unknown> }) =>
    this.call<unknown>('POST', `/v1/cases/${encodeURIComponent(id)}/events`, event)

  // Control room
  agreements = () => this.call<{ agreements: AgreementSummary[] }>('GET', '/v1/admin/agreements')
  agreementVersions = (id: string) =>
    this.call<{ versions: AgreementVersionView[] }>('GET', `/v1/admin/agreements/${encodeURIComponent(id)}/versions`)
  createAgreementVersion = (id: string, agreement: Partial<Agreement> | Record<string, unknown>) =>
    this.call<AgreementVersionView>('POST', `/v1/admin/agreements/${encodeURIComponent(id)}/versions`, { agreement })
  agreementDiff = (id: string, from: number, to: number) =>
    this.call<{ changes: { path: string; kind: string; before?: unknown; after?: unknown }[] }>(
      'GET',
      `/v1/admin/agreements/${encodeURIComponent(id)}/diff?from=${from}&to=${to}`,
    )
  setAgreementStatus = (id: string, version: number, action: 'activate' | 'suspend' | 'retire') =>
    this.call<AgreementVersionView>(
      'POST',
      `/v1/admin/agreements/${encodeURIComponent(id)}/versions/${version}/${action}`,
    )
  bindings = () => this.call<{ bindings: Binding[] }>('GET', '/v1/admin/bindings')
  putBinding = (region: string, body: Record<string, unknown>) =>
    this.call<Binding['binding']>('PUT', `/v1/admin/bindings/${encodeURIComponent(region)}`, body)
  removeBinding = (region: string) => this.call<undefined>('DELETE', `/v1/admin/bindings/${encodeURIComponent(region)}`)
  clients = () => this.call<{ clients: ClientRow[] }>('GET', '/v1/admin/clients')
  addClient = (body: Record<string, unknown>) => this.call<ClientRow>('POST', '/v1/admin/clients', body)
  revokeClient = (id: string) => this.call<ClientRow>('DELETE', `/v1/admin/clients/${encodeURIComponent(id)}`)
  tokens = () => this.call<{ tokens: TokenRow[] }>('GET', '/v1/admin/tokens')
  createToken = (body: Record<string, unknown>) =>
    this.call<TokenRow & { token: string }>('POST', '/v1/admin/tokens', body)
  revokeToken = (id: string) => this.call<TokenRow>('DELETE', `/v1/admin/tokens/${encodeURIComponent(id)}`)
  deadLetters = () => this.call<{ deadLetters: DeadLetterRow[] }>('GET', '/v1/admin/dead-letters?open=false&limit=100')
  redrive = (id: number) => this.call<DeadLetterRow>('POST', `/v1/admin/dead-letters/${id}/redrive`)
  queues = () => this.call<{ queues: QueueDepthRow[] }>('GET', '/v1/admin/queues')
  performance = (query: URLSearchParams) =>
    this.call<PerformanceReport>('GET', `/v1/admin/reports/performance?${query.toString()}`)
  performanceCsv = (query: URLSearchParams) => this.raw(`/v1/admin/reports/performance?${query.toString()}`, 'text/csv')
  volume = (days: number) => this.call<VolumeReport>('GET', `/v1/admin/reports/volume?days=${days}`)
  keyRevocations = () => this.call<{ revocations: KeyRevocation[] }>('GET', '/v1/admin/key-revocations')
  revokeKey = (body: z.input<typeof RevokeKeyBody>) =>
    this.call<KeyRevocation>('POST', '/v1/admin/key-revocations', body)
}
