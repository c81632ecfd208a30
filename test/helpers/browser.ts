/**
 * Debian's Chromium driven by playwright-core (no browser download): headless, no sandbox (CI runs as
 * root), no network beyond what the page asks for, a fresh profile per launch.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { repoRoot } from './process.js'

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const hasChromium = existsSync(chromiumPath)

/** Screenshots of the main pages, kept as test artefacts (git-ignored). */
export const artifactsDir = path.join(repoRoot, 'test', 'artifacts', 'console')

export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(path.join(tmpdir(), 'tongban-chromium-'))
  await mkdir(artifactsDir, { recursive: true })
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'zh-CN',
    viewport: { width: 1280, height: 900 },
  })
  return {
    context,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true })
}

/**
 * Signs in to the console at `baseUrl` with a staff token, its cookies cleared first, and waits for the page
 * after the sign-in; `page` is reused when given (a screenshot's page), a new one is opened otherwise.
 */
export async function signIn(context: BrowserContext, baseUrl: string, token: string, page?: Page): Promise<Page> {
  await context.clearCookies()
  const p = page ?? (await context.newPage())
  await p.goto(`${baseUrl}/console/login`)
  await p.getByLabel('人员令牌').fill(token)
  await p.getByRole('button', { name: '登录' }).click()
  await p.waitForURL((u) => !u.pathname.startsWith('/console/login'))
  return p
}
