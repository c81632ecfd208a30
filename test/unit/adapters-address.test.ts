import { describe, expect, it } from 'vitest'
import { AddressRefused, createGuardedLookup } from '../../adapters/_shared/address.js'
import { isPrivateAddress } from '../../adapters/_shared/http.js'

describe('isPrivateAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback /8'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private /12 start'],
    ['172.31.255.255', 'private /12 end'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'shared address space'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified v6'],
    ['::1', 'loopback v6'],
    ['[::1]', 'bracketed'],
    ['0:0:0:0:0:0:0:1', 'loopback v6, long form'],
    ['fc00::1', 'unique local'],
    ['fd12:3456:789a::1', 'unique local'],
    ['fe80::1', 'link-local v6'],
    ['fe80::1%eth0', 'link-local v6 with a zone'],
    ['febf::1', 'link-local v6 end'],
    ['ff02::1', 'multicast v6'],
    ['::ffff:127.0.0.1', 'v4-mapped loopback'],
    ['::ffff:7f00:1', 'v4-mapped loopback, hex'],
    ['::FFFF:10.1.2.3', 'v4-mapped private, upper case'],
    ['::ffff:169.254.169.254', 'v4-mapped metadata'],
    ['::127.0.0.1', 'v4-compatible loopback'],
    ['64:ff9b::10.0.0.1', 'NAT64 of a private address'],
    ['2002:c0a8:0101::1', '6to4 of 192.168.1.1'],
    ['localhost', 'not an address: fails closed'],
    ['', 'empty: fails closed'],
    ['1.2.3', 'malformed: fails closed'],
  ])('%s is private (%s)', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true)
  })

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['172.15.255.255'],
    ['172.32.0.1'],
    ['192.169.0.1'],
    ['169.253.255.255'],
    ['100.63.255.255'],
    ['100.128.0.1'],
    ['11.0.0.1'],
    ['223.255.255.255'],
    ['2001:db8::1'],
    ['2400:3200::1'],
    ['::ffff:8.8.8.8'],
    ['::ffff:808:808'],
    ['64:ff9b::8.8.8.8'],
    ['2002:0808:0808::1'],
    ['fbff::1'],
  ])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false)
  })
})

describe('createGuardedLookup', () => {
  type Answer = { address: string; family: number }[]
  const lookupWith = (answer: Answer | Error) =>
    createGuardedLookup((_host, _opts, cb) => {
      if (answer instanceof Error) cb(answer as NodeJS.ErrnoException, [])
      else cb(null, answer)
    })
  const call = (lookup: ReturnType<typeof createGuardedLookup>, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown; family: unknown }>((resolve) => {
      lookup('gw.example.cn', { all }, (err, address, family) => resolve({ err, address, family }))
    })

  it('passes public addresses through, in both the single and the all form', async () => {
    const lookup = lookupWith([
      { address: '203.0.113.7', family: 4 },
      { address: '2001:db8::7', family: 6 },
    ])
    expect(await call(lookup, false)).toEqual({ err: null, address: '203.0.113.7', family: 4 })
    const all = await call(lookup, true)
    expect(all.err).toBeNull()
    expect(all.address).toEqual([
      { address: '203.0.113.7', family: 4 },
      { address: '2001:db8::7', family: 6 },
    ])
  })

  it('refuses a name with any private address among its records', async () => {
    const lookup = lookupWith([
      { address: '203.0.113.7', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ])
    for (const all of [false, true]) {
      const r = await call(lookup, all)
      expect(r.err).toBeInstanceOf(AddressRefused)
      expect(r.err?.message).toBe('gw.example.cn resolves to a private address')
    }
  })

  it('passes resolver errors on', async () => {
    const r = await call(lookupWith(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })), false)
    expect(r.err?.message).toMatch(/ENOTFOUND/)
  })
})
