import { z } from 'zod'
import { RegionLevel } from '../../../../config/schema.js'

export const RegionOut = z
  .object({
    code: z.string().meta({ example: '420303' }),
    name: z.string().meta({ example: '张湾区' }),
    level: RegionLevel,
    parent: z.string().nullable(),
    province: z.string(),
    status: z.enum(['active', 'retired']),
    successors: z.array(z.string()).meta({ description: 'For a retired code: the codes in force that replaced it' }),
    tags: z.array(z.string()),
  })
  .meta({ id: 'Region' })

export const CodeParam = z.object({
  code: z
    .string()
    .min(1)
    .max(64)
    .meta({ param: { name: 'code', in: 'path' }, example: '420303' }),
})
export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .meta({ param: { name: 'id', in: 'path' } }),
})
