/**
 * The cases a window collected (`agent_window`): a window operator's lists (`GET /v1/cases`, the console's
 * 我的办件) read them newest first, so that the page stays fast however many cases the region has.
 */
export const migration0014 = {
  version: 14,
  name: 'window-cases',
  sql: /* sql */ `
CREATE INDEX cases_agent_window_id_idx ON cases (agent_window, id) WHERE agent_window IS NOT NULL;
`,
}
