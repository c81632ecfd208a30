/** Parsing adapter settings: a bad binding fails at start-up with every problem and where it is. */
import type { z } from 'zod'

/**
 * Parses `input` with `schema`; throws an `Error` listing each issue as `path: message`
 * (e.g. `invalid peer adapter settings: baseUrl: Invalid URL; gatewayId: Invalid input: expected string`).
 * Messages of zod never echo the offending values, so a misplaced secret does not end up in the log.
 */
export function parseSettings<S extends z.ZodType>(schema: S, input: unknown, kind: string): z.output<S> {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
  throw new Error(`invalid ${kind} adapter settings: ${issues.join('; ')}`)
}
