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

/** Problem responses for the given statuses, for a route's `responses`. */
export function problems<S extends StatusWithProblem>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { content: { 'application/problem+json': { schema: Problem } }, description: describe[s] },
    ]),
  ) as Record<S, { content: { 'application/problem+json': { schema: typeof Problem } }; description: string }>
}

/**
 * Who may call a route that needs a caller: a system client's assertion or a person's token (`bearer`), or
 * the web console's session cookie (`session`, with `X-CSRF-Token` on everything but GET and HEAD).
 */
export const callerSecurity: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }]

/**
 * Every /v1 route is rate limited (PROTOCOL 1.1 §6: per caller, or per address on the open ones): its
 * OpenAPI entry gets the 429 answer with `Retry-After`, in one place rather than in each route file.
 * Run after the routes are registered.
 */
export function documentRateLimits(api: Api): void {
  const tooMany = {
    ...problems(429)[429],
    description: `${describe[429]}: wait \`Retry-After\` seconds`,
    headers: {
      'Retry-After': { description: 'Seconds until the limit allows another request', schema: { type: 'integer' } },
    },
  }
  for (const d of api.openAPIRegistry.definitions) {
    if (d.type !== 'route' || !d.route.path.startsWith('/v1/')) continue
    const responses = d.route.responses as Record<string, unknown>
    responses[429] ??= tooMany
  }
}
