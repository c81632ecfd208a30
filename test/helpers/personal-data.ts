/**
 * Made-up personal numbers for "never in a log line" tests: a resident id with its check character, a 15-digit
 * old id, a mobile number and a bank card number passing Luhn; `typedForms` are the ways a person writes them,
 * `leakForms` everything a log line must not contain (each form, and the bare digit runs).
 */
export const residentId = '42030319770707777X'
export const oldId = '420303770707777'
export const phone = '13977770007'
export const card = '6222021234567890128'

export const typedForms = [
  residentId,
  residentId.toLowerCase(),
  '420303 19770707 777X',
  oldId,
  phone,
  '+8613977770007',
  '+86 139 7777 0007',
  '139-7777-0007',
  '0086-13977770007',
  card,
  '6222 0212 3456 7890 128',
]

export const leakForms = [...typedForms, '42030319770707777', '3977770007', '6222021234567890', '7777 0007']
