import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { readFile, uploadFile } from '../../../services/files/files.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'

export const FileMeta = z
  .object({
    sha256: z.string().meta({ description: 'Lower-case hex SHA-256 of the content: what materials reference' }),
    mediaType: z.string().meta({ example: 'application/pdf' }),
    size: z.number().int(),
    createdAt: z.string().meta({ description: 'When these bytes were first stored' }),
    created: z.boolean().meta({ description: 'false: the same bytes were stored already and are not stored twice' }),
  })
  .meta({ id: 'FileMeta' })

const Binary = z.string().meta({ format: 'binary' })

const Sha256Param = z.object({
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits')
    .meta({ param: { name: 'sha256', in: 'path' } }),
})

const upload = createRoute({
  method: 'post',
  path: '/v1/files',
  operationId: 'uploadFile',
  tags: ['files'],
  summary: 'Upload a material file once (raw body); materials then reference it by `sha256`',
  description:
    'The body is the file itself, with its media type as `Content-Type` (allowed: FILE_MEDIA_TYPES, by default ' +
    'application/pdf, image/jpeg, image/png, application/ofd) and at most FILE_MAX_BYTES (20 MiB by default). ' +
    'The first bytes must be those of the declared type. The same bytes are stored once: a second upload answers ' +
    '200 with `created: false`. A system client’s assertion covers the body (`bsh`).',
  security: callerSecurity,
  request: {
    body: {
      required: true,
      content: {
        'application/pdf': { schema: Binary },
        'image/jpeg': { schema: Binary },
        'image/png': { schema: Binary },
        'application/ofd': { schema: Binary },
      },
    },
  },
  responses: {
    201: json(FileMeta, 'Stored'),
    200: json(FileMeta, 'Stored already (these bytes, by anyone): not stored again'),
    ...problems(401, 403, 413, 415, 422, 429, 503),
  },
})

const download = createRoute({
  method: 'get',
  path: '/v1/files/{sha256}',
  operationId: 'getFile',
  tags: ['files'],
  summary: 'A material file: for its uploader and the parties of a case that references it (others: 404)',
  security: callerSecurity,
  request: { params: Sha256Param },
  responses: {
    200: {
      content: { 'application/octet-stream': { schema: Binary } },
      description: 'The bytes, with their media type',
    },
    ...problems(400, 401, 404, 429, 503),
  },
})

export function registerFiles(api: Api, deps: HttpDeps) {
  api.openapi(upload, async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer())
    const stored = await uploadFile(
      { caller: c.get('caller'), deps: deps.files },
      { contentType: c.req.header('content-type'), body },
    )
    c.get('logFields').file = stored.sha256
    c.header('Location', `/v1/files/${stored.sha256}`)
    return c.json(stored, stored.created ? 201 : 200)
  })
  api.openapi(download, async (c) => {
    const { sha256 } = c.req.valid('param')
    const { meta, content } = await readFile({ caller: c.get('caller'), deps: deps.files }, sha256)
    c.get('logFields').file = sha256
    return c.body(new Uint8Array(content), 200, {
      'content-type': meta.mediaType,
      'content-length': String(content.length),
      etag: `"${meta.sha256}"`,
      'content-disposition': `attachment; filename="${meta.sha256}"`,
      'cache-control': 'private, max-age=3600',
    }) as never
  })
}
