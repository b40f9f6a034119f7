-- The dashboard keeps the pages and reports of ended flights in memory;
-- any change to a flight's row (a rerun, a cancel, a verdict, a reopened
-- push) tells it to forget that flight. One notification per flight per
-- transaction: PostgreSQL folds identical payloads.
CREATE FUNCTION hangar_flight_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hangar_flight', NEW.id::text);
	RETURN NULL;
END
$$;

CREATE TRIGGER flights_changed AFTER UPDATE ON flights
	FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
	EXECUTE FUNCTION hangar_flight_changed();

-- The flights list's revision filter: the flights that tested a commit
-- id's prefix (LIKE 'abc%' with the C-like operator class).
CREATE INDEX flight_revisions_prefix_idx ON flight_revisions
	(revision text_pattern_ops, flight);

-- What the gate saw at its last look, for the overview: staging and
-- target of each branch.
ALTER TABLE branches
	ADD COLUMN staging_seen text,
	ADD COLUMN target_seen text,
	ADD COLUMN seen_at timestamptz;

-- Times in JSON answers: ISO 8601 in UTC with a Z, whatever the
-- session's time zone ("2026-12-01T08:00:00Z"), as flights' times are.
CREATE FUNCTION hangar_iso(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
