import { reportSql } from '../src/store/evaluation-store.js'
const by = (process.argv[2] ?? 'region') as 'region'
const months = process.argv[3] ?? '{2025-01-01,2025-02-01,2025-03-01,2025-04-01,2025-05-01,2025-06-01,2025-07-01,2025-08-01,2025-09-01,2025-10-01,2025-11-01,2025-12-01}'
const dims = by === 'region' ? '{region,origin}' : by === 'window' ? '{window,region}' : `{${by}}`
let text = reportSql(by, { stored: true, live: 0 })
const params = ["'2025-01-01T00:00:00+08:00'", "'2026-01-01T00:00:00+08:00'", `'${dims}'`, `'${months}'`]
text = text.replace(/\$(\d+)/g, (_, n) => params[Number(n) - 1]!)
console.log(`set jit = off; set work_mem = '64MB'; explain (analyze, buffers off, timing on) ${text};`)
