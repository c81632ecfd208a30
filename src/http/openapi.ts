/**
 * Helpers shared by every route file: the typed `Api`, JSON bodies and the problem responses,
 * so each route's OpenAPI entry is generated from the same zod schemas that validate it.
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { z } from 'zod'
import { errorCatalog } from '../errors.js'
import type { AppEnv } from './context.js'
import { Problem, validationError } from './problem.js'

export type Api = OpenAPIHono<AppEnv>

export function createApi(): Api {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(
          result.error as z.ZodError,
          result.target === 'json' ? 'request body' : `request ${result.target}`,
        )
      }
    },
  })
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description }
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } }, required: true }
}

type StatusWithProblem = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503

const describe: Record<StatusWithProblem, string> = {
  400: errorCatalog.bad_request.title,
  401: errorCatalog.unauthenticated.title,
  403: errorCatalog.forbidden.title,
  404: errorCatalog.not_found.title,
  409: errorCatalog.conflict.title,
  413: errorCatalog.payload_too_large.title,
  415: errorCatalog.unsupported_media_type.title,
  422: 'Refused by a rule: `code` names it',
  429: errorCatalog.rate_limited.title,
  503: errorCatalog.not_ready.title,
}

const problemContent = { 'application/problem+json': { schema: Problem } }

/** Seconds to wait before trying again, sent with every 429 (PROTOCOL §1, §6). */
const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
} as const

/**
 * Problem responses for the given statuses, for a route's `responses`; a 429 also declares `Retry-After`.
 * Every operation declares 503 (a store it needs does not answer); every /v1 operation 429 (rate limits,
 * PROTOCOL §6); every operation that needs a caller 401, and those that change something 403 (the console
 * session's CSRF token) and 413/415 (the body limit and media type, checked before the route runs).
 */
export function problems<S extends StatusWithProblem>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      s === 429
        ? { content: problemContent, description: describe[s], headers: retryAfter }
        : { content: problemContent, description: describe[s] },
    ]),
  ) as Record<S, { content: typeof problemContent; description: string; headers?: typeof retryAfter }>
}

/**
 * Who may call a route that needs a caller: a system client's assertion or a person's token (`bearer`), or
 * the web console's session cookie (`session`, with `X-CSRF-Token` on everything but GET and HEAD).
 */
export const callerSecurity: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }]

/** Routes that anyone may call say so explicitly, so that generated clients send no credentials. */
export const publicSecurity: Record<string, string[]>[] = []
