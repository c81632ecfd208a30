/**
 * RFC 9457 problem details: every error the gateway answers goes through `problemResponse`,
 * with a stable `code`, the request id and, for validation errors, `errors: [{ path, message }]`.
 */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { z } from 'zod'
import { AppError, type ErrorCode, errorCatalog, type FieldError } from '../errors.js'

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' })
export type Problem = z.infer<typeof Problem>

export const problemTypeBase = 'https://tongban.dev/problems/'

export function toProblem(
  code: ErrorCode,
  detail: string,
  requestId: string,
  errors?: FieldError[],
  expose?: Record<string, unknown>,
): Problem {
  const { status, title } = errorCatalog[code]
  return {
    ...expose,
    type: `${problemTypeBase}${code.replaceAll('_', '-')}`,
    title,
    status,
    detail,
    code,
    requestId,
    ...(errors && errors.length > 0 ? { errors } : {}),
  }
}

/**
 * The problem as the answer, built through the context so that the headers prepared for every answer
 * (request id, security headers) are part of it.
 */
export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, {
    'content-type': 'application/problem+json; charset=utf-8',
    ...headers,
  })
}

/** Converts zod issues to the protocol's `errors` list (`path` in JSON-pointer-like dotted form). */
export function zodErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({
    path: i.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replaceAll('.[', '['),
    message: i.message,
  }))
}

export function validationError(error: z.ZodError, where: string): AppError {
  return new AppError('validation_failed', `the ${where} does not match the schema`, { errors: zodErrors(error) })
}
