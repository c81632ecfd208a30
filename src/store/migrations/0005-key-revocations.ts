/**
 * Keys revoked as compromised: the gateway's own (issuer = its id) and registered system
 * clients'. A signature whose `iat` is at or after `revoked_at` is refused; earlier ones still verify.
 * A second revocation of the same key may only move the time earlier.
 */
export const migration0005 = {
  version: 5,
  name: 'key-revocations',
  sql: /* sql */ `
CREATE TABLE key_revocations (
  issuer       text NOT NULL,
  kid          text NOT NULL,
  revoked_at   timestamptz(3) NOT NULL,
  reason       text,
  recorded_by  text,
  recorded_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, kid)
);
`,
}
