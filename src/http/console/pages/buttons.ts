/** A form with one button that posts (CSRF token included), asking `confirm` first when given. */
import { html } from 'hono/html'
import type { Html } from '../layout.js'
import type { PageContext } from '../session.js'

export const postButton = (p: PageContext, action: string, text: string, extra: Html = html``, confirm?: string) =>
  html`<form method="post" action="${action}" class="no-print inline">
  <input type="hidden" name="_csrf" value="${p.csrf}">${extra}<button class="small${confirm ? ' secondary' : ''}" type="submit"${confirm ? html` data-confirm="${confirm}"` : ''}>${text}</button></form>`
