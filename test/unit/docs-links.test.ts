/**
 * The documentation's links (issue 13 item 5): every relative link in README.md, docs/*.md and
 * bench/README.md names a file of this repository, an anchor names a heading of its target (GitHub's
 * slugs), and nothing points outside the repository, where a user who cloned it has nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')
const pages = [
  'README.md',
  'bench/README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

/** The text without fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
}

function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '')
}

/** GitHub's heading anchors: lower case, punctuation dropped (letters of any script kept), spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = (m[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

function problemsOf(page: string, text = readFileSync(path.join(root, page), 'utf8')): string[] {
  const problems: string[] = []
  for (const link of linksOf(text)) {
    if (/^https?:\/\//.test(link)) {
      if (/\/shared\//.test(link)) problems.push(`${link}: the shared folder is not part of the repository`)
      continue
    }
    if (/^[a-z]+:/i.test(link) || link.startsWith('/')) {
      problems.push(`${link}: only relative links and http(s) links are allowed`)
      continue
    }
    const [file = '', anchor] = link.split('#', 2)
    const target =
      file === '' ? path.join(root, page) : path.resolve(path.dirname(path.join(root, page)), decodeURI(file))
    if (path.relative(root, target).startsWith('..')) {
      problems.push(`${link}: points outside the repository`)
      continue
    }
    if (!existsSync(target)) {
      problems.push(`${link}: no such file`)
      continue
    }
    if (anchor !== undefined && target.endsWith('.md') && statSync(target).isFile()) {
      if (!anchorsOf(readFileSync(target, 'utf8')).has(decodeURIComponent(anchor))) {
        problems.push(`${link}: no heading with that anchor in ${path.relative(root, target)}`)
      }
    }
  }
  return problems
}

describe('documentation links', () => {
  it('finds the pages', () => {
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/protocol.md', 'docs/operations.md']))
  })

  it('keeps README.md, the front door, at most 15 KB', () => {
    expect(statSync(path.join(root, 'README.md')).size).toBeLessThanOrEqual(15 * 1024)
  })

  it.each(pages)('%s: every link resolves inside the repository', (page) => {
    expect(problemsOf(page)).toEqual([])
  })

  it('refuses links outside the repository, missing files and unknown anchors', () => {
    const page =
      '[p](../shared/PROTOCOL.md) [q](docs/../../x.md) [r](nope.md) [s](docs/protocol.md#7-nothing) [t](docs/operations.md#keys)'
    expect(problemsOf('README.md', page)).toEqual([
      '../shared/PROTOCOL.md: points outside the repository',
      'docs/../../x.md: points outside the repository',
      'nope.md: no such file',
      'docs/protocol.md#7-nothing: no heading with that anchor in docs/protocol.md',
    ])
  })

  it('catches what it is meant to catch', () => {
    expect(linksOf('[a](../shared/PROTOCOL.md) `[b](no.md)` ![c](img/x.png "t")')).toEqual([
      '../shared/PROTOCOL.md',
      'img/x.png',
    ])
    expect([
      ...anchorsOf('## 5. Results and mutual recognition\n## The `tongban` command\n## 容缺 supply dates\n## A\n## A'),
    ]).toEqual(['5-results-and-mutual-recognition', 'the-tongban-command', '容缺-supply-dates', 'a', 'a-1'])
  })
})
