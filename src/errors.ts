/**
 * The one error type of the gateway. Every refusal carries a stable snake_case `code`; HTTP maps it
 * to a status and title through `errorCatalog`, workers map `retryable` to BullMQ's retry behaviour.
 * `context` must never hold secrets or identity numbers: it is logged and may be shown to callers.
 */
export const errorCatalog = {
  bad_request: { status: 400, title: 'Malformed request' },
  validation_failed: { status: 400, title: 'Request validation failed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'State conflict' },
  external_ref_conflict: { status: 409, title: 'This externalRef already names a case submitted with another body' },
  idempotency_in_flight: { status: 409, title: 'The first request with this Idempotency-Key is still in flight' },
  invalid_transition: { status: 409, title: 'Event not allowed in the current status' },
  checkpoint_fork: { status: 409, title: 'The checkpoint contradicts one already witnessed' },
  checkpoint_gap: { status: 409, title: 'The checkpoint does not follow the last one witnessed' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  no_agreement: { status: 422, title: 'No agreement authorises this route' },
  mode_not_allowed: { status: 422, title: 'The agreement does not allow this handling mode' },
  scope_mismatch: { status: 422, title: "The agreement's scope contradicts the regions' geography" },
  agreement_inactive: { status: 422, title: 'The agreement is not in force' },
  region_retired: { status: 422, title: 'The region code is retired' },
  unknown_region: { status: 422, title: 'Unknown region' },
  unknown_item: { status: 422, title: 'Unknown service item' },
  unknown_thing: { status: 422, title: 'Unknown one-thing bundle' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused with a different body' },
  invalid_identity_number: { status: 422, title: 'Identity number fails its check' },
  invalid_certificate_id: { status: 422, title: 'Electronic certificate identifier fails its check' },
  invalid_form: { status: 422, title: "The form does not match the item's form fields" },
  materials_missing: { status: 422, title: 'Required materials are missing' },
  result_refused: { status: 422, title: 'The result does not verify or does not match the case' },
  unknown_file: { status: 422, title: 'A referenced file is not stored at this gateway' },
  file_content_mismatch: { status: 422, title: 'The file content does not match its declared type or hash' },
  outstanding_not_allowed: { status: 422, title: 'Only non-essential materials may be accepted as outstanding' },
  idempotency_key_missing: { status: 400, title: 'Idempotency-Key header required' },
  rule_violation: { status: 422, title: 'Refused by a rule' },
  checkpoint_invalid: { status: 422, title: 'The checkpoint is malformed or its signature does not verify' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  upstream_failed: { status: 502, title: 'The other system failed' },
  not_ready: { status: 503, title: 'Not ready' },
  database_unavailable: { status: 503, title: 'The database is unavailable; retry later' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof errorCatalog

export interface FieldError {
  path: string
  message: string
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly context: Record<string, unknown>
  readonly retryable: boolean
  readonly errors: FieldError[] | undefined
  /** Extension members added to the problem body (e.g. `currentStatus`); never secrets. */
  readonly expose: Record<string, unknown> | undefined

  constructor(
    code: ErrorCode,
    detail: string,
    options: {
      cause?: unknown
      context?: Record<string, unknown>
      retryable?: boolean
      errors?: FieldError[]
      expose?: Record<string, unknown>
    } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.context = options.context ?? {}
    this.retryable = options.retryable ?? false
    this.errors = options.errors
    this.expose = options.expose
  }

  get status(): number {
    return errorCatalog[this.code].status
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError
}

/** Seconds a caller should wait before retrying after the database was unavailable (`Retry-After`). */
export const DATABASE_RETRY_AFTER_SECONDS = 5

/**
 * SQLSTATEs that mean "try again": connection exceptions (class 08), the server shutting down or not yet
 * accepting connections (57P01–57P03), too many connections (53300), serialization failures (40001) and
 * deadlocks (40P01).
 */
function retryableSqlState(code: string): boolean {
  return code.startsWith('08') || /^57P0[1-3]$/.test(code) || ['40001', '40P01', '53300'].includes(code)
}

const unavailableMessages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error/,
  /^Client was closed and is not queryable$/,
  /^Query read timeout$/,
  /^PGlite is clos(ed|ing)$/,
]
const unavailableNodeCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'])

/**
 * Whether `e` (or an error in its `cause` chain or an AggregateError's members) says that PostgreSQL (pg or
 * PGlite) could not be reached or asked for a retry, as opposed to a bug or a refused statement.
 * Pure: it looks at `code` and `message` only, so the HTTP layer may use it without importing a driver.
 */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (depth > 5 || typeof e !== 'object' || e === null) return false
  const { code, message, cause, errors } = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
  if (typeof code === 'string' && (unavailableNodeCodes.has(code) || (code.length === 5 && retryableSqlState(code)))) {
    return true
  }
  if (typeof message === 'string' && unavailableMessages.some((p) => p.test(message))) return true
  if (Array.isArray(errors) && errors.some((m) => isDatabaseUnavailable(m, depth + 1))) return true
  return isDatabaseUnavailable(cause, depth + 1)
}

/** `e` as the retryable 503 `database_unavailable`, or undefined when it is not an outage. */
export function databaseUnavailable(e: unknown): AppError | undefined {
  if (isAppError(e) || !isDatabaseUnavailable(e)) return undefined
  return new AppError('database_unavailable', 'the database is unavailable or busy; retry later', {
    cause: e,
    retryable: true,
    context: { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
  })
}
