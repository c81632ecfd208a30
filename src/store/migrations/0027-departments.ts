/**
 * Department-limited callers (PROTOCOL 1.1 §2): a system client or a person's token may be limited to the
 * department codes of the items (`departments`); NULL, as before, is every department of its regions.
 */
export const migration0027 = {
  version: 27,
  name: 'departments',
  sql: /* sql */ `
ALTER TABLE clients ADD COLUMN departments text[];
ALTER TABLE person_tokens ADD COLUMN departments text[];
`,
}
