/**
 * Web console sessions: a person's token exchanged for a cookie. Only the SHA-256 of the cookie's secret
 * is stored; the CSRF token is per session. A session ends on sign-out, when idle too long, at its
 * absolute expiry, or when its token is revoked.
 */
export const migration0008 = {
  version: 8,
  name: 'console-sessions',
  sql: /* sql */ `
CREATE TABLE console_sessions (
  secret_hash   bytea PRIMARY KEY,
  token_id      text NOT NULL REFERENCES person_tokens(id),
  csrf          text NOT NULL,
  created_at    timestamptz(3) NOT NULL,
  last_seen_at  timestamptz(3) NOT NULL,
  expires_at    timestamptz(3) NOT NULL,
  ended_at      timestamptz(3)
);
CREATE INDEX console_sessions_token_idx ON console_sessions (token_id);
`,
}
