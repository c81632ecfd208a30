/**
 * Every change of a client, a person's token or a key revocation is announced on the PostgreSQL channel
 * `tongban_revocations` (NOTIFY, delivered at commit), whoever made it: an instance's admin route or the CLI.
 * Each gateway instance LISTENs and drops the cached entry at once (src/store/revocation-listener.ts); the
 * caches' time-out stays as the fallback. The payload names the table and the row (the client or token id,
 * the issuer of a key), never a secret.
 */
export const migration0028 = {
  version: 28,
  name: 'revocation-notices',
  sql: /* sql */ `
CREATE FUNCTION tongban_announce_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_id text;
BEGIN
  IF TG_TABLE_NAME = 'key_revocations' THEN
    row_id := NEW.issuer;
  ELSIF TG_OP = 'DELETE' THEN
    row_id := OLD.id;
  ELSE
    row_id := NEW.id;
  END IF;
  PERFORM pg_notify('tongban_revocations', json_build_object('table', TG_TABLE_NAME, 'id', row_id)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER clients_announce AFTER INSERT OR UPDATE OR DELETE ON clients
  FOR EACH ROW EXECUTE FUNCTION tongban_announce_revocation();
CREATE TRIGGER person_tokens_announce AFTER UPDATE OR DELETE ON person_tokens
  FOR EACH ROW EXECUTE FUNCTION tongban_announce_revocation();
CREATE TRIGGER key_revocations_announce AFTER INSERT OR UPDATE ON key_revocations
  FOR EACH ROW EXECUTE FUNCTION tongban_announce_revocation();
`,
}
