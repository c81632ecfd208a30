/**
 * The events forwarded to the other side of a case (services/dispatch/forward.ts): the order marks that an
 * event's successor going the same way waits for, and what the sweeper leaves alone. They lived in Redis
 * (lost with a flush, expired after 90 days: every later event of the case then waited forever). An index
 * on the events' time for the sweeper's look at the last 30 days.
 */
export const migration0015 = {
  version: 15,
  name: 'event-forwards',
  sql: /* sql */ `
CREATE TABLE event_forwards (
  case_id      text        NOT NULL,
  seq          int         NOT NULL,
  direction    text        NOT NULL CHECK (direction IN ('to_processing', 'to_origin')),
  forwarded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, seq)
);
CREATE INDEX case_events_at_idx ON case_events (at);
`,
}
