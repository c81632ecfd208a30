/**
 * `/openapi.json` (generated from the route schemas) and `/docs` (Swagger UI served from the
 * installed swagger-ui-dist package, so it works on a network without internet access).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Api } from '../../openapi.js'

export const openApiInfo = {
  openapi: '3.1.0',
  info: {
    title: 'Tongban exchange protocol',
    version: '1.1',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    description:
      'Cross-region government service gateway (通办). Errors are RFC 9457 problem details with a stable `code`. ' +
      'docs/protocol.md in the repository states the contract this document describes.',
  },
} as const

const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
}

const page = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Tongban API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body></html>`

const init = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`

export function registerDocs(api: Api, gatewayId: string) {
  api.doc31('/openapi.json', {
    ...openApiInfo,
    info: { ...openApiInfo.info },
    servers: [{ url: '/', description: gatewayId }],
  })
  const dist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const cache = new Map<string, string>()
  api.get('/docs', (c) => c.html(page))
  api.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file')
    if (file === 'init.js') return c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' })
    const type = assets[file]
    if (!type) return c.notFound()
    let body = cache.get(file)
    if (body === undefined) {
      body = await readFile(path.join(dist, file), 'utf8')
      cache.set(file, body)
    }
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' })
  })
}
