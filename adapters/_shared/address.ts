/**
 * The address guard: which IP addresses an adapter may not connect to unless its binding allows private
 * addresses. A gateway that reaches a loopback, private or link-local address because a configured (or
 * DNS-rebound) host name resolves there is a server-side request forgery waiting to happen: cloud metadata
 * at 169.254.169.254, the local Redis, an admin port.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'

/** [network, prefix length] of IPv4 ranges never reachable without `allowPrivateAddresses`. */
const V4_RANGES: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", incl. the unspecified 0.0.0.0
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT, shared address space
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12], // private
  ['192.168.0.0', 16], // private
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. 255.255.255.255
]

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

const V4_MASKS = V4_RANGES.map(([net, bits]) => {
  const size = 2 ** (32 - bits)
  const base = v4ToInt(net)
  return (n: number) => n >= base && n < base + size
})

function privateV4(n: number): boolean {
  return V4_MASKS.some((inRange) => inRange(n))
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded dotted quad becomes the last two). */
function v6Groups(ip: string): number[] {
  let s = ip
  const lastColon = s.lastIndexOf(':')
  const tail = s.slice(lastColon + 1)
  if (tail.includes('.')) {
    const n = v4ToInt(tail)
    s = `${s.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`
  }
  const [head = '', rest] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const r = rest === undefined ? null : rest === '' ? [] : rest.split(':')
  const groups = r === null ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r]
  return groups.map((g) => Number.parseInt(g, 16))
}

function privateV6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g
  const embeddedV4 = g6 * 65536 + g7
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (firstFiveZero && g5 === 0) {
    // :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible ::a.b.c.d.
    if (g6 === 0 && g7 <= 1) return true
    return privateV4(embeddedV4)
  }
  if (firstFiveZero && g5 === 0xffff) return privateV4(embeddedV4) // v4-mapped ::ffff:a.b.c.d
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return privateV4(embeddedV4) // NAT64
  if (g0 === 0x2002) return privateV4(g1 * 65536 + g2) // 6to4 embeds the IPv4 address in bits 16–47
  if ((g0 & 0xfe00) === 0xfc00) return true // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true // deprecated site-local fec0::/10
  if ((g0 & 0xff00) === 0xff00) return true // multicast
  return false
}

/**
 * Whether `ip` is loopback, private, link-local, unspecified, shared (CGNAT), multicast or reserved,
 * for IPv4 and IPv6, including IPv4 addresses embedded in IPv6 (v4-mapped `::ffff:127.0.0.1`,
 * NAT64, 6to4). Brackets and a zone id (`fe80::1%eth0`) are accepted. Anything that is not an IP
 * address answers `true`: the guard fails closed.
 *
 * @example isPrivateAddress('10.1.2.3') // true
 * @example isPrivateAddress('::ffff:7f00:1') // true (127.0.0.1)
 * @example isPrivateAddress('2001:db8::1') // false
 */
export function isPrivateAddress(ip: string): boolean {
  let s = ip.trim()
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1)
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  const version = isIP(s)
  if (version === 4) return privateV4(v4ToInt(s))
  if (version === 6) return privateV6(v6Groups(s.toLowerCase()))
  return true
}

/** Thrown by the guarded lookup; the HttpClient finds it again in the cause chain of undici's connection error. */
export class AddressRefused extends Error {
  constructor(readonly hostname: string) {
    super(`${hostname} resolves to a private address`)
    this.name = 'AddressRefused'
  }
}

type Resolve = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

/**
 * A `net.connect` lookup that refuses host names resolving to any private address. Every resolved address is
 * checked, not only the first, so that a name with one public and one private record cannot be used to reach
 * the private one (Node's happy eyeballs may connect to any of them). `resolve` is `dns.lookup` (tests swap it).
 */
export function createGuardedLookup(resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0)
      if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) {
        return callback(new AddressRefused(hostname) as NodeJS.ErrnoException, '', 0)
      }
      if (options.all) return callback(null, addresses)
      const first = addresses[0]!
      return callback(null, first.address, first.family)
    })
  }
}

export const guardedLookup: LookupFunction = createGuardedLookup()
