/**
 * A month's `case_events` partition made at run time keeps the parent's append-only privileges. The partitions
 * are made by the owner (`tongban_ensure_case_partitions`, SECURITY DEFINER), so the runtime role got the
 * default privileges of a new table, UPDATE included, on them until the next `tongban migrate` revoked it (the
 * append-only trigger refused the update meanwhile). The function now revokes UPDATE, DELETE and TRUNCATE on each
 * `case_events` partition it creates from every role but the owner; `cases` partitions keep the defaults, which
 * are their parent's.
 */
export const migration0036 = {
  version: 36,
  name: 'partition-grants',
  sql: /* sql */ `
ALTER FUNCTION tongban_ensure_case_partitions(date, date, text) RENAME TO tongban_create_case_partitions;
REVOKE ALL ON FUNCTION tongban_create_case_partitions(date, date, text) FROM PUBLIC;

CREATE FUNCTION tongban_ensure_case_partitions(first_month date, last_month date, lock_wait text DEFAULT '200ms')
  RETURNS TABLE (month date, created boolean)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  made record;
  holder record;
  events_table text;
BEGIN
  FOR made IN SELECT * FROM tongban_create_case_partitions(first_month, last_month, lock_wait) LOOP
    IF made.created THEN
      events_table := 'case_events_' || to_char(made.month, '"y"YYYY"m"MM');
      FOR holder IN
        SELECT DISTINCT grantee FROM information_schema.role_table_grants
         WHERE table_schema = 'public' AND table_name = events_table
           AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE') AND grantee NOT IN (current_user, 'PUBLIC')
      LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON TABLE %I FROM %I', events_table, holder.grantee);
      END LOOP;
    END IF;
    month := made.month;
    created := made.created;
    RETURN NEXT;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION tongban_ensure_case_partitions(date, date, text) FROM PUBLIC;
`,
}
