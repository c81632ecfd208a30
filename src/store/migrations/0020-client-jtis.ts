/**
 * Assertion `jti`s of system clients kept in PostgreSQL (PROTOCOL §2: a second use within an assertion's
 * lifetime is refused). `POST /v1/cases` records its jti here, in the intake's own statement, so that a
 * submission needs no Redis; a row lives until its assertion can no longer be accepted (`exp` + 60 s of
 * leeway), then retention deletes it.
 */
export const migration0020 = {
  version: 20,
  name: 'client-jtis',
  sql: /* sql */ `
CREATE TABLE client_jtis (
  client_id  text NOT NULL,
  jti        text NOT NULL,
  expires_at timestamptz(3) NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_jtis_expires_at_idx ON client_jtis (expires_at);
`,
}
