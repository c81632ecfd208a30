/**
 * A cookie-keeping "browser" over `app.request()` for console tests: signs in with a token through the
 * sign-in form, follows nothing, and posts forms url-encoded or, with files, as multipart.
 */
import { expect } from 'vitest'
import type { TestApp } from './app.js'

export interface FormBrowser {
  cookies: Map<string, string>
  get(path: string, headers?: Record<string, string>): Promise<Response>
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>
  /** A multipart form, as a browser sends one with `enctype="multipart/form-data"`. */
  postMultipart(path: string, form: Record<string, string | File>): Promise<Response>
}

export function formBrowser(t: TestApp): FormBrowser {
  const cookies = new Map<string, string>()
  const send = async (path: string, init: RequestInit) => {
    const headers = new Headers(init.headers)
    if (cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await t.app.request(path, { ...init, headers })
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const [k, v] = pair!.split('=')
      if (v === '' || /max-age=0/i.test(c)) cookies.delete(k!)
      else cookies.set(k!, v!)
    }
    return res
  }
  return {
    cookies,
    get: (path, headers = {}) => send(path, { method: 'GET', headers }),
    post: (path, form, headers = {}) =>
      send(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form).toString(),
      }),
    postMultipart: (path, form) => {
      const body = new FormData()
      for (const [k, v] of Object.entries(form)) body.append(k, v)
      return send(path, { method: 'POST', body })
    },
  }
}

export const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? ''

export async function consoleSignIn(t: TestApp, token: string): Promise<FormBrowser> {
  const b = formBrowser(t)
  const login = await b.get('/console/login')
  const res = await b.post('/console/login', { _csrf: csrfOf(await login.text()), token })
  expect(res.status).toBe(303)
  return b
}
