/**
 * The performance report's `wentOverdue`: cases whose `overdue_at` falls in the period, whatever they are
 * now. `cases_overdue_open_idx` (0006) holds only the cases still open, so it cannot serve a period filter on
 * `overdue_at` over all cases; this index does.
 */
export const migration0013 = {
  version: 13,
  name: 'overdue-period',
  sql: /* sql */ `
CREATE INDEX cases_overdue_at_idx ON cases (overdue_at) WHERE overdue_at IS NOT NULL;
`,
}
