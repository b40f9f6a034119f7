-- The gate: what a gate flight compares with, its stored reports, the
-- branch controls (block, force-push), and the history summary that keeps
-- the classification from scanning history.

-- The target's revision of the gated tree when the flight was made (the
-- "that" of OSSTest's sg-report-flight): baseline flights are those that
-- tested it. A baseline test tests the target itself and never pushes.
ALTER TABLE flights
	ADD COLUMN target_revision text,
	ADD COLUMN baseline_test boolean NOT NULL DEFAULT false,
	ADD COLUMN report_text text,        -- the mail, as sent
	ADD COLUMN push_log text,           -- what the push did, for the mail
	ADD COLUMN decided_at timestamptz;
CREATE INDEX flights_retest_idx ON flights (retest_of) WHERE retest_of IS NOT NULL;
-- the gate's "one flight per branch at a time" and its to-decide list
CREATE INDEX flights_gate_pending_idx ON flights (branch, id)
	WHERE intent IN ('gate', 'retest') AND verdict = 'pending';
-- a pinned tree's revision: the branch's last push, however long ago
CREATE INDEX flights_pushed_idx ON flights (branch, id DESC) WHERE pushed;

-- OSSTest's $branch.block and $branch.force-rev files, with who and why.
ALTER TABLE branches
	ADD COLUMN block_reason text,
	ADD COLUMN force_rev text,          -- push this revision even with regressions
	ADD COLUMN force_reason text,
	ADD COLUMN force_by text;

-- "Did this step ever pass on this branch?" (OSSTest's anypassq, over gate
-- and bisect flights) without scanning steps: kept by a trigger as steps
-- pass, so the question is one index probe however long the history.
CREATE TABLE step_passes (
	branch      text NOT NULL,
	job         text NOT NULL,
	step        text NOT NULL,
	first_flight bigint NOT NULL,
	last_flight bigint NOT NULL,
	PRIMARY KEY (branch, job, step)
);

CREATE FUNCTION hangar_step_passed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO step_passes AS p (branch, job, step, first_flight, last_flight)
	SELECT f.branch, NEW.job, NEW.name, NEW.flight, NEW.flight
	FROM flights f
	WHERE f.id = NEW.flight AND f.branch IS NOT NULL
	AND f.intent IN ('gate', 'bisect')
	ON CONFLICT (branch, job, step) DO UPDATE
	SET first_flight = least(p.first_flight, EXCLUDED.first_flight),
	    last_flight = greatest(p.last_flight, EXCLUDED.last_flight)
	WHERE p.first_flight > EXCLUDED.first_flight
	   OR p.last_flight < EXCLUDED.last_flight;
	RETURN NULL;
END
$$;
CREATE TRIGGER steps_passed AFTER INSERT OR UPDATE OF status ON steps
	FOR EACH ROW WHEN (NEW.status = 'pass')
	EXECUTE FUNCTION hangar_step_passed();

-- Steps that passed before this migration.
INSERT INTO step_passes (branch, job, step, first_flight, last_flight)
SELECT f.branch, s.job, s.name, min(s.flight), max(s.flight)
FROM steps s JOIN flights f ON f.id = s.flight
WHERE s.status = 'pass' AND f.branch IS NOT NULL
AND f.intent IN ('gate', 'bisect')
GROUP BY f.branch, s.job, s.name;

-- The gate wakes when a flight ends (and on lab changes, hangar_lab).
CREATE FUNCTION hangar_wake_gate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hangar_gate', NEW.id::text);
	RETURN NULL;
END
$$;
CREATE TRIGGER flights_wake_gate AFTER UPDATE OF status ON flights
	FOR EACH ROW
	WHEN (NEW.status IN ('finished', 'cancelled')
	      AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION hangar_wake_gate();
