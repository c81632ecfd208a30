/**
 * The web console at /console (zh-CN): the window workbench for operators and the control room for admins.
 * Server-rendered HTML; one static stylesheet and one small script; every datum through the /v1 API
 * (`client.ts`) with the signed-in person's session. Not in the OpenAPI document: it is HTML for people.
 */

import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { html } from 'hono/html'
import type { HttpDeps } from '../deps.js'
import { rateLimit, sourceAddress } from '../middleware/rate-limit.js'
import type { Api } from '../openapi.js'
import { consoleCss, consoleFavicon, consoleJs } from './assets.js'
import { chartsJs, serveEcharts } from './charts.js'
import { homeOf, page } from './layout.js'
import { registerAdminPages } from './pages/admin.js'
import { registerAuditPages } from './pages/audit.js'
import { registerCasePages } from './pages/cases.js'
import { registerProgressCheck } from './pages/check.js'
import { registerKeyPages } from './pages/keys.js'
import { loginRoutes, tooManySignIns } from './pages/login.js'
import { megabytes } from './pages/materials.js'
import { registerReceipt } from './pages/receipt.js'
import { registerReportPages } from './pages/reports.js'
import { registerWorkbench } from './pages/workbench.js'
import { signedIn } from './session.js'

/** How many largest-size scans one console form may carry. */
const CONSOLE_FORM_FILES = 8

export function registerConsole(api: Api, deps: HttpDeps): void {
  const sessions = deps.auth.sessions
  if (!sessions) return
  const asset = (body: string, type: string) => (c: Context) =>
    c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=300' })
  api.get('/console/static/console.css', asset(consoleCss, 'text/css; charset=utf-8'))
  api.get('/console/static/console.js', asset(consoleJs, 'text/javascript; charset=utf-8'))
  api.get('/console/static/echarts.min.js', serveEcharts)
  api.get('/console/static/charts.js', asset(chartsJs, 'text/javascript; charset=utf-8'))
  api.get('/console/static/favicon.svg', asset(consoleFavicon, 'image/svg+xml'))
  // A console address that names no page: the console's own 404 page, not the API's problem JSON.
  api.use('/console/*', async (c, next) => {
    await next()
    if (c.res.status === 404 && c.res.headers.get('content-type')?.includes('application/problem+json')) {
      c.res = undefined
      c.res = await c.html(
        page(
          { title: '页面不存在', caller: null },
          html`<p class="alert error" role="alert">没有这个页面。请检查地址，或<a href="/console">返回工作台</a>。</p>`,
        ),
        404,
      )
    }
  })

  // A console form carries at most a few scans (each at most FILE_MAX_BYTES, checked again by POST /v1/files).
  const formMax = CONSOLE_FORM_FILES * deps.files.maxBytes + 1024 * 1024
  api.use(
    '/console/*',
    bodyLimit({
      maxSize: formMax,
      onError: (c) =>
        c.html(
          page(
            { title: '提交的内容过大', caller: null },
            html`<p class="alert error" role="alert">一次提交的文件合计不能超过 ${megabytes(formMax)}（每个文件最多 ${megabytes(deps.files.maxBytes)}）。请返回，减少或压缩文件后再提交。</p>`,
          ),
          413,
        ),
    }),
  )

  const limits = deps.rateLimits
  const login = loginRoutes(sessions, limits)
  if (limits) {
    // Every sign-in attempt, per source address, before the form is read.
    const perAddress = rateLimit(
      limits,
      'signin',
      (c) => (c.req.method === 'POST' ? sourceAddress(c, limits.trustProxy) : undefined),
      tooManySignIns,
    )
    api.use('/console/login', perAddress)
  }
  api.get('/console/login', login.show)
  // Public: the receipt's QR code opens it.
  registerProgressCheck(api, deps)
  api.post('/console/login', login.submit)
  api.post('/console/logout', login.logout)

  const wrap = {
    sessions,
    api: () => api,
    regionName: async (code: string) => (await deps.directory.snapshot()).regions.get(code)?.name,
    trustProxy: limits?.trustProxy ?? 0,
  }
  api.get(
    '/console',
    signedIn(wrap, ({ c, caller }) => c.redirect(homeOf(caller.role), 303)),
  )
  registerWorkbench(api, wrap, deps)
  registerReceipt(api, wrap, deps)
  registerCasePages(api, wrap, deps)
  registerAdminPages(api, wrap, deps)
  registerReportPages(api, wrap, deps)
  registerKeyPages(api, wrap)
  registerAuditPages(api, wrap)
}
