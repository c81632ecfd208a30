/**
 * Retention of files that no case uses: when a file was last uploaded or referenced by a submission
 * (`used_at`), so that an upload never used by a case can be deleted after FILE_UNUSED_RETENTION_HOURS
 * (the bytes are scans of identity cards and the like: kept for the cases, not for ever).
 */
export const migration0011 = {
  version: 11,
  name: 'file-retention',
  sql: /* sql */ `
ALTER TABLE files ADD COLUMN used_at timestamptz(3) NOT NULL DEFAULT now();
CREATE INDEX files_used_at_idx ON files (used_at);
`,
}
