/**
 * Writes the OpenAPI document that `GET /openapi.json` serves to the file named as the first argument
 * (default `.tmp/openapi.json`), for `npm run lint:openapi` (Redocly's recommended rules, redocly.yaml).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { openApiDocument } from '../src/openapi-document.js'

const target = process.argv[2] ?? '.tmp/openapi.json'
await mkdir(path.dirname(target), { recursive: true })
await writeFile(target, `${JSON.stringify(await openApiDocument(), null, 2)}\n`)
console.log(`OpenAPI 文档已写入 ${target}`)
