/**
 * Phone numbers sealed at rest like identity numbers: the ciphertext (AES-256-GCM under the identity key) and a
 * masked copy. SQL cannot encrypt with the gateway's key, so phones stored in clear by earlier versions are
 * sealed by the gateway at start (store/seal-phones.ts), which then clears `applicant_phone`; the partial
 * index finds the rows still to do, and is empty once they are done.
 */
export const migration0018 = {
  version: 18,
  name: 'sealed-phones',
  sql: /* sql */ `
ALTER TABLE cases ADD COLUMN applicant_phone_enc bytea;
ALTER TABLE cases ADD COLUMN applicant_phone_masked text;
CREATE INDEX cases_clear_phone_idx ON cases (id) WHERE applicant_phone IS NOT NULL;
`,
}
