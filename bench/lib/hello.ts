/** The baseline: a plain Hono hello-world on @hono/node-server, on the port given in argv[2]. */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.get('/', (c) => c.text('Hello'))
app.post('/', async (c) => c.json({ ok: true, size: (await c.req.text()).length }, 201))
serve({ fetch: app.fetch, port: Number(process.argv[2] ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ listening: info.port }))
})
