/**
 * 容缺 supply dates: the supply date whose passing the deadline timers reported
 * (`materials_overdue`), so each is reported once, by the queue or by the sweep, whichever comes first.
 */
export const migration0010 = {
  version: 10,
  name: 'materials-overdue',
  sql: /* sql */ `
ALTER TABLE cases ADD COLUMN materials_reported_for date;
`,
}
