import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultConfigDir } from '../../config/env.js'
import { ConfigCheckError, checkDirectory, formatProblem, loadDirectory, parseCsv } from '../../config/load.js'

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-config-'))
  await cp(defaultConfigDir, dir, { recursive: true })
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function edit(file: string, change: (doc: any) => void) {
  const p = path.join(dir, file)
  const doc = JSON.parse(await readFile(p, 'utf8'))
  change(doc)
  await writeFile(p, JSON.stringify(doc))
}

async function errorsOf(): Promise<string[]> {
  return (await checkDirectory(dir)).errors.map(formatProblem)
}

describe('the shipped configuration', () => {
  it('passes the check with the regions, zones, items, bundles, agreements and calendars the issue asks for', async () => {
    const { directory, errors } = await checkDirectory(defaultConfigDir)
    expect(errors.map(formatProblem)).toEqual([])
    expect(directory.regions.filter((r) => r.status === 'active' && r.level !== 'zone')).toHaveLength(99)
    expect(directory.regions.filter((r) => r.level === 'zone').map((r) => r.name)).toEqual([
      '十堰经济技术开发区',
      '武当山旅游经济特区',
    ])
    const retired = directory.regions.find((r) => r.code === '420321')
    expect(retired).toMatchObject({ status: 'retired', name: '郧县', successors: ['420304'] })
    // 429001 随州市 (1994–2000) → 421302 曾都区 (retired 2009) → 421303 and 421321, followed to codes in force.
    expect(directory.regions.find((r) => r.code === '429001')?.successors.sort()).toEqual(['421303', '421321'])
    expect(directory.items.length).toBeGreaterThanOrEqual(20)
    expect(new Set(directory.items.map((i) => i.departmentCode)).size).toBeGreaterThanOrEqual(8)
    expect(directory.things.map((t) => t.name)).toEqual(expect.arrayContaining(['开养老院', '我要开餐馆']))
    expect(directory.agreements.map((a) => a.scope).sort()).toEqual([
      'cross_city',
      'cross_province',
      'province_wide',
      'within_city',
    ])
    expect(directory.calendars.map((c) => c.year).sort()).toEqual([2025, 2026])
  })
})

describe('config check errors name the file and the path', () => {
  it('an unknown region and an unknown item in an agreement', async () => {
    await edit('agreements/xiang-shi-sui-shen.json', (a) => {
      a.parties.push('429999')
      a.items[0].item = 'no-such-item'
    })
    const errors = await errorsOf()
    expect(errors).toContain('agreements/xiang-shi-sui-shen.json: parties[4]: unknown region "429999"')
    expect(errors).toContain('agreements/xiang-shi-sui-shen.json: items[0].item: unknown item "no-such-item"')
  })

  it('a scope that contradicts its parties’ geography', async () => {
    await edit('agreements/shiyan-within-city-pilot.json', (a) => {
      a.parties.push('420600')
    })
    const errors = await errorsOf()
    expect(
      errors.some((e) => e.startsWith('agreements/shiyan-within-city-pilot.json: scope:')),
      errors.join('\n'),
    ).toBe(true)
  })

  it('a cross_province agreement among parties of one province', async () => {
    await edit('agreements/hubei-shaanxi-henan-chongqing-kstb.json', (a) => {
      a.parties = ['420300', '420600']
    })
    expect((await errorsOf()).some((e) => e.includes('hubei-shaanxi-henan-chongqing-kstb.json: scope:'))).toBe(true)
  })

  it('a retired region as a party, naming its successor', async () => {
    await edit('agreements/xiang-shi-sui-shen.json', (a) => {
      a.parties.push('420321')
    })
    expect(await errorsOf()).toContain(
      'agreements/xiang-shi-sui-shen.json: parties[4]: region 420321 郧县 is retired (successors: 420304)',
    )
  })

  it('a mode the item does not support', async () => {
    await edit('agreements/xiang-shi-sui-shen.json', (a) => {
      a.items[0].modes = ['multi_site']
    })
    expect((await errorsOf()).find((e) => e.includes('items[0].modes[0]'))).toMatch(/does not support mode multi_site/)
  })

  it('schema violations: a wrong type, an extra field, a bad enum, invalid JSON', async () => {
    await edit('agreements/xiang-shi-sui-shen.json', (a) => {
      a.version = 'one'
      a.colour = 'red'
      a.scope = 'galactic'
    })
    await writeFile(path.join(dir, 'things.json'), '{ not json')
    const errors = await errorsOf()
    expect(errors.find((e) => e.startsWith('agreements/xiang-shi-sui-shen.json: version:'))).toBeDefined()
    expect(errors.find((e) => e.startsWith('agreements/xiang-shi-sui-shen.json: scope:'))).toBeDefined()
    expect(errors.find((e) => e.includes('colour'))).toBeDefined()
    expect(errors.find((e) => e.startsWith('things.json: not valid JSON'))).toBeDefined()
  })

  it('a bundle whose items define a shared form field differently', async () => {
    const file = 'items/market-regulation.json'
    await edit(file, (doc) => {
      const food = doc.items.find((i: any) => i.code === 'food-business-licence')
      const field = food.formFields.find((f: any) => f.name === 'businessAddress')
      field.type = 'integer'
    })
    const errors = await errorsOf()
    expect(
      errors.some((e) => e.startsWith('things.json: things[') && e.includes('"businessAddress"')),
      errors.join('\n'),
    ).toBe(true)
  })

  it('开养老院: a shared field labelled differently by two of its items, named with both items', async () => {
    await edit('items/civil-affairs.json', (doc) => {
      const home = doc.items.find((i: any) => i.code === 'elderly-care-home-filing')
      home.formFields.find((f: any) => f.name === 'bedCount').label = '核定床位数'
    })
    const errors = await errorsOf()
    expect(errors).toEqual([
      'things.json: things[0]: form field "bedCount" is defined differently by npo-elderly-care-registration, ' +
        'elderly-care-home-filing (label): the merged form would be ambiguous; ' +
        'see items/civil-affairs.json items[0].formFields[6], items/civil-affairs.json items[1].formFields[5]',
    ])
    expect((await checkDirectory(defaultConfigDir)).errors).toEqual([])
  })

  it('a 调休 working day that is not a weekend day', async () => {
    await edit('calendars/2026.json', (c) => {
      c.workdays.push('2026-10-12')
    })
    expect(await errorsOf()).toContain(
      'calendars/2026.json: workdays[6]: 2026-10-12 is not a weekend day, so it cannot be made a working day',
    )
  })

  it('loadDirectory throws one error listing all of them', async () => {
    await edit('agreements/xiang-shi-sui-shen.json', (a) => {
      a.parties.push('429999')
      a.items[1].item = 'nope'
    })
    await expect(loadDirectory(dir)).rejects.toThrow(ConfigCheckError)
    await expect(loadDirectory(dir)).rejects.toThrow(/2 error\(s\)/)
  })
})

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, commas and CRLF', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
    ])
  })
})
