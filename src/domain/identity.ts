/**
 * Check characters of identity numbers and certificate identifiers. All functions are pure and never log:
 * their inputs are personal data (see DOMAIN.md, Codes).
 */

const RESIDENT_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const RESIDENT_CHECK = '10X98765432'

/**
 * The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits of a resident ID number.
 * Throws RangeError unless given exactly 17 digits.
 *
 * @example residentIdCheckChar('11010519491231002') // 'X' (the example number of GB 11643-1999)
 */
export function residentIdCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('a resident ID base is 17 digits')
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * RESIDENT_WEIGHTS[i]!
  return RESIDENT_CHECK[sum % 11]!
}

function isRealDate(yyyymmdd: string): boolean {
  const year = Number(yyyymmdd.slice(0, 4))
  const month = Number(yyyymmdd.slice(4, 6))
  const day = Number(yyyymmdd.slice(6, 8))
  const d = new Date(Date.UTC(year, month - 1, day))
  return year >= 1800 && d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day
}

/**
 * Whether `s` is a well-formed 18-character resident ID number (公民身份号码, GB 11643): 17 digits whose
 * birth-date part (characters 7–14) is a real date from 1800 on, then the check character (digit or
 * upper-case `X`). The address code is not checked: retired codes stay valid in ID numbers.
 *
 * @example isValidResidentId('11010519491231002X') // true
 */
export function isValidResidentId(s: string): boolean {
  if (!/^\d{17}[\dX]$/.test(s)) return false
  return isRealDate(s.slice(6, 14)) && residentIdCheckChar(s.slice(0, 17)) === s[17]
}

const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/**
 * The GB 32100-2015 check character of the first 17 characters of a unified social credit code.
 * Throws RangeError unless given 17 characters of the code alphabet (digits and A–Y without I, O, S, V, Z).
 *
 * @example usccCheckChar('91350100M000100Y4') // '3'
 */
export function usccCheckChar(first17: string): string {
  if (first17.length !== 17) throw new RangeError('a USCC base is 17 characters')
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const value = USCC_ALPHABET.indexOf(first17[i]!)
    if (value < 0) throw new RangeError('a USCC uses digits and A-Y without I, O, S, V, Z')
    sum += value * USCC_WEIGHTS[i]!
  }
  return USCC_ALPHABET[(31 - (sum % 31)) % 31]!
}

/**
 * Whether `s` is a well-formed unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters
 * of the code alphabet, the last being the check character of the first 17.
 *
 * @example isValidUscc('91350100M000100Y43') // true
 */
export function isValidUscc(s: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(s)) return false
  return usccCheckChar(s.slice(0, 17)) === s[17]
}

/**
 * An identity number fit for screens and logs: the first 6 and last 4 characters kept, the rest `*`.
 * Strings of 10 characters or fewer are masked entirely, since keeping 6 + 4 would reveal them.
 *
 * @example maskIdentity('11010519491231002X') // '110105********002X'
 */
export function maskIdentity(s: string): string {
  const chars = Array.from(s)
  if (chars.length <= 10) return '*'.repeat(chars.length)
  return chars.slice(0, 6).join('') + '*'.repeat(chars.length - 10) + chars.slice(-4).join('')
}

/**
 * An identity number as the gateway stores and digests it: a resident id with its check character `x`
 * upper-cased; other kinds as given.
 *
 * @example normalizeIdNumber('resident_id', '11010519491231002x') // '11010519491231002X'
 */
export function normalizeIdNumber(idType: string, idNumber: string): string {
  return idType === 'resident_id' ? idNumber.toUpperCase() : idNumber
}

const MOD37_36_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'

/**
 * The ISO/IEC 7064 MOD 37,36 (hybrid system, alphabet 0-9A-Z) check character of `s`.
 * Throws RangeError for an empty string or a character outside 0-9A-Z.
 *
 * @example mod37_36CheckChar('11100000000013338W03211220000013544541J2430599001') // 'F'
 */
export function mod37_36CheckChar(s: string): string {
  if (s.length === 0) throw new RangeError('nothing to compute a check character of')
  let p = 36
  for (const ch of s) {
    const value = MOD37_36_ALPHABET.indexOf(ch)
    if (value < 0) throw new RangeError('MOD 37,36 input uses 0-9 and A-Z only')
    p = (((p + value) % 36 || 36) * 2) % 37
  }
  return MOD37_36_ALPHABET[(37 - p) % 36]!
}

/** The parts of an electronic certificate identifier (电子证照标识). */
export interface ECertificateIdParts {
  rootOid: '1.2.156.3005.2'
  certTypeCode: string
  issuerCode: string
  serial: string
  version: string
  checkChar: string
}

const ECERT_ROOT = '1.2.156.3005.2'

/**
 * Parses and checks an electronic certificate identifier
 * `1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check char>`: five parts after the root,
 * each of 0-9A-Z (upper case), the check character being MOD 37,36 over type, issuer, serial and version
 * without dots. Part lengths are not enforced, since real identifiers vary (an issuer may be a region code).
 *
 * @example
 * isValidECertificateId('1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F')
 * // { ok: true, parts: { certTypeCode: '11100000000013338W032', …, checkChar: 'F' } }
 */
export function isValidECertificateId(
  s: string,
): { ok: true; parts: ECertificateIdParts } | { ok: false; reason: string } {
  if (!s.startsWith(`${ECERT_ROOT}.`)) return { ok: false, reason: `does not start with the root ${ECERT_ROOT}` }
  const rest = s.slice(ECERT_ROOT.length + 1).split('.')
  if (rest.length !== 5) {
    return {
      ok: false,
      reason: `needs 5 parts after the root (type, issuer, serial, version, check), got ${rest.length}`,
    }
  }
  const [certTypeCode, issuerCode, serial, version, checkChar] = rest as [string, string, string, string, string]
  const names = ['type code', 'issuer code', 'serial', 'version'] as const
  for (const [i, part] of [certTypeCode, issuerCode, serial, version].entries()) {
    if (!/^[0-9A-Z]+$/.test(part)) return { ok: false, reason: `the ${names[i]} must be 0-9 and A-Z (upper case)` }
  }
  if (!/^[0-9A-Z]$/.test(checkChar)) return { ok: false, reason: 'the check character must be one of 0-9 and A-Z' }
  if (mod37_36CheckChar(certTypeCode + issuerCode + serial + version) !== checkChar) {
    return { ok: false, reason: 'the check character does not match (ISO/IEC 7064 MOD 37,36)' }
  }
  return { ok: true, parts: { rootOid: ECERT_ROOT, certTypeCode, issuerCode, serial, version, checkChar } }
}

/** Whether a run of digits passes the Luhn check (ISO/IEC 7812), as bank card numbers do. */
export function passesLuhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (d < 0 || d > 9) return false
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return digits.length > 0 && sum % 10 === 0
}

/**
 * Personal numbers anywhere in a text, one alternative per kind (a named group each): unified social credit
 * codes and 18-character resident ids (also grouped 6-8-4, check character `X` or `x`), 15-digit old resident
 * ids, mainland mobile numbers (1[3-9] and 9 digits, with or without +86/0086/86, spaces or dashes after the
 * third and seventh digit), and bank card numbers (13–19 digits, or groups of four, passing Luhn).
 */
const personalNumberPattern = new RegExp(
  [
    '(?<![0-9A-Za-z])(?<uscc>[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Za-z])',
    String.raw`(?<!\d)(?<id>\d{6}[ -]?\d{8}[ -]?\d{3}[\dXx]|\d{15})(?!\d)`,
    String.raw`(?<!\d)(?<phone>(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2})(?!\d)`,
    String.raw`(?<!\d)(?<card>\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?)(?!\d)`,
  ].join('|'),
  'g',
)

/**
 * The one masking function for free text (log lines, error messages): every identity number, mobile number
 * and bank card number in `text` becomes `[redacted-id]`, `[redacted-phone]` or `[redacted-card]`. Digit runs
 * of other shapes (dates, sequence numbers, hashes) stay.
 *
 * @example maskPersonalNumbers('call +86 139-7777-0007 about 42030319770707777X') // 'call [redacted-phone] about [redacted-id]'
 */
export function maskPersonalNumbers(text: string): string {
  // Most strings have no run of ten digits: skip the full pattern for them.
  if (!/\d{3}/.test(text)) return text
  return text.replace(personalNumberPattern, (match, ...rest) => {
    const groups = rest.at(-1) as Record<string, string | undefined>
    if (groups.uscc !== undefined || groups.id !== undefined) return '[redacted-id]'
    if (groups.phone !== undefined) return '[redacted-phone]'
    return passesLuhn(match.replace(/[ -]/g, '')) ? '[redacted-card]' : match
  })
}

/**
 * A phone number fit for screens: the first 3 and last 4 digits kept, every other character `*`; 7 characters
 * or fewer are masked entirely.
 *
 * @example maskPhone('13977770007') // '139****0007'
 */
export function maskPhone(s: string): string {
  const chars = Array.from(s)
  if (chars.length <= 7) return '*'.repeat(chars.length)
  return chars.slice(0, 3).join('') + '*'.repeat(chars.length - 7) + chars.slice(-4).join('')
}
