import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { DATABASE_RETRY_AFTER_SECONDS, databaseUnavailable, type ErrorCode, isAppError } from '../../errors.js'
import type { AppEnv } from '../context.js'
import { problemResponse, toProblem } from '../problem.js'

function requestIdOf(c: Context<AppEnv>): string {
  return c.get('requestId') ?? 'unknown'
}

/**
 * The one error handler: AppError → its problem; a database outage → 503 `database_unavailable` with
 * Retry-After; HTTPException → mapped; anything else → opaque 500 (logged through the scrubbing serializer).
 */
export const onError: ErrorHandler<AppEnv> = (thrown, c) => {
  const fields = c.get('logFields')
  // PostgreSQL unreachable, shutting down or asking for a retry: the caller's retry will work, so 503.
  const err = databaseUnavailable(thrown) ?? thrown
  if (isAppError(err)) {
    if (fields) fields.errorCode = err.code
    if (err.status >= 500) c.get('log')?.error({ err, context: err.context }, err.message)
    const headers: Record<string, string> = {}
    if (err.code === 'unauthenticated') headers['WWW-Authenticate'] = 'Bearer'
    const retryAfter = err.context.retryAfterSeconds
    if (err.code === 'rate_limited' && typeof retryAfter === 'number') headers['Retry-After'] = String(retryAfter)
    // Every 503 is temporary (PROTOCOL §1): say when to come back.
    if (err.status === 503) {
      headers['Retry-After'] = String(typeof retryAfter === 'number' ? retryAfter : DATABASE_RETRY_AFTER_SECONDS)
    }
    return problemResponse(c, toProblem(err.code, err.message, requestIdOf(c), err.errors, err.expose), headers)
  }
  if (err instanceof HTTPException) {
    const code: ErrorCode =
      err.status === 413
        ? 'payload_too_large'
        : err.status === 415
          ? 'unsupported_media_type'
          : err.status === 401
            ? 'unauthenticated'
            : err.status === 404
              ? 'not_found'
              : 'bad_request'
    if (fields) fields.errorCode = code
    return problemResponse(c, toProblem(code, err.message || 'the request could not be processed', requestIdOf(c)))
  }
  if (fields) fields.errorCode = 'internal'
  c.get('log')?.error({ err }, 'unhandled error')
  return problemResponse(c, toProblem('internal', 'an internal error occurred; quote the request id', requestIdOf(c)))
}

export const notFound: NotFoundHandler<AppEnv> = (c) => {
  const fields = c.get('logFields')
  if (fields) fields.errorCode = 'not_found'
  return problemResponse(c, toProblem('not_found', `no route for ${c.req.method} ${c.req.path}`, requestIdOf(c)))
}
