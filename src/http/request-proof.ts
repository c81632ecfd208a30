/**
 * The signed request behind an event (docs/trust.md): a system client's assertion binds the exact body
 * through `bsh`, so the event it posts keeps both as its proof. The body text is the one the
 * authentication middleware read and cached (the bytes `bsh` was checked against).
 */
import type { Context } from 'hono'
import type { RequestProof } from '../ports/case-store.js'
import type { AppEnv } from './context.js'

export async function requestProof(c: Context<AppEnv>): Promise<RequestProof | undefined> {
  const caller = c.get('caller')
  if (caller.kind !== 'client') return undefined
  return { assertion: caller.assertion.token, body: await c.req.text() }
}
