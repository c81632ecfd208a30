/** Results (PROTOCOL §5): the result JWS of a case, how it was verified, and its recognition. */
export const migration0004 = {
  version: 4,
  name: 'results',
  sql: /* sql */ `
CREATE TABLE results (
  case_id      text PRIMARY KEY REFERENCES cases(id),
  jws          text NOT NULL,
  claims       jsonb NOT NULL,
  issuer       text NOT NULL,
  kid          text NOT NULL,
  attested     boolean NOT NULL,
  verified_at  timestamptz(3) NOT NULL,
  recognition  text,
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
`,
}
