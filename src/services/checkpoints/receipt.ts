/**
 * `GET /v1/cases/{id}/receipt`: the case's intake receipt (PROTOCOL §4) and, once a checkpoint covers the
 * case, the inclusion proof of its chain head in the gateway's signed checkpoint.
 */
import { z } from 'zod'
import type { CheckpointStore } from '../../ports/checkpoint-store.js'
import { loadVisibleCase } from '../cases/read.js'
import type { VerbContext } from '../context.js'
import { CheckpointInclusion, inclusionOf } from './inclusion.js'

export const CaseReceipt = z
  .object({
    case: z.string(),
    receipt: z.string().meta({ description: 'The intake receipt (JWS, typ tongban-receipt+jwt)' }),
    checkpoint: CheckpointInclusion.nullable().meta({
      description:
        'The inclusion proof of the case’s newest checkpointed chain head; null until a checkpoint covers it',
    }),
  })
  .meta({ id: 'CaseReceipt' })
export type CaseReceipt = z.infer<typeof CaseReceipt>

export async function caseReceipt(
  ctx: VerbContext & { checkpoints: CheckpointStore },
  id: string,
): Promise<CaseReceipt> {
  const { record } = await loadVisibleCase(ctx, id)
  return {
    case: record.id,
    receipt: record.receipt,
    checkpoint: await inclusionOf(ctx.checkpoints, record.id, record.lastSeq),
  }
}
