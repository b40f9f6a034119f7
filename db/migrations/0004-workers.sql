-- Workers: host key pins, job attempts, and what a worker records.
--
-- A host's SSH key is pinned on first use, in the database so that every
-- worker, on any machine, trusts the same key; a different key later is
-- lab trouble (a broken step), never a silent accept.
ALTER TABLE hosts
	ADD COLUMN ssh_host_key text,        -- "TYPE BASE64", NULL until pinned
	ADD COLUMN ssh_host_key_at timestamptz;

-- A job that hit lab trouble (or whose worker died before a test step
-- began) runs once more, on other hosts: attempt 2. Steps record the
-- attempt they belong to; step numbers keep counting across attempts, so
-- log files never collide, and the current attempt's steps are those with
-- the job's attempt.
ALTER TABLE jobs
	ADD COLUMN attempt int NOT NULL DEFAULT 1 CHECK (attempt >= 1),
	ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
	ADD COLUMN lab_retries int NOT NULL DEFAULT 0,  -- re-queued after lab trouble
	ADD COLUMN broken_reason text;
ALTER TABLE steps
	ADD COLUMN attempt int NOT NULL DEFAULT 1,
	ADD COLUMN detail text;             -- why it ended so ("exit status 2")
ALTER TABLE steps DROP CONSTRAINT steps_flight_job_name_key;
ALTER TABLE steps ADD CONSTRAINT steps_attempt_name_key
	UNIQUE (flight, job, attempt, name);

-- Workers wake on jobs given hosts (preparing) and on cancellations.
CREATE FUNCTION hangar_wake_workers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hangar_work', NEW.flight || '.' || NEW.job);
	RETURN NULL;
END
$$;
CREATE TRIGGER jobs_wake_workers AFTER UPDATE OF status, cancel_requested
	ON jobs FOR EACH ROW
	WHEN ((NEW.status = 'preparing' AND OLD.status IS DISTINCT FROM NEW.status)
	   OR (NEW.cancel_requested AND NOT OLD.cancel_requested))
	EXECUTE FUNCTION hangar_wake_workers();

-- A flight is finished when its last job ends, whoever ended it (a worker,
-- the scheduler marking jobs blocked, a cancel). Jobs of one flight ending
-- at once take turns on an advisory lock of the flight, so that they
-- cannot each see the other unfinished (each statement after the lock
-- sees what the one before committed). The check runs at commit (a
-- deferred constraint trigger), when the transaction has all the job rows
-- it wants: waiting for the flight's lock while still wanting a row that
-- the lock's holder has would deadlock.
CREATE FUNCTION hangar_flight_maybe_done() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(1751606898, (NEW.flight % 2147483647)::int);
	IF NOT EXISTS (SELECT 1 FROM jobs WHERE flight = NEW.flight
	               AND status IN ('queued', 'preparing', 'running')) THEN
		UPDATE flights SET status = CASE WHEN status = 'cancelled'
			THEN 'cancelled' ELSE 'finished' END,
			finished_at = coalesce(finished_at, now())
		WHERE id = NEW.flight AND status IN ('queued', 'running', 'cancelled')
		AND finished_at IS NULL;
	END IF;
	RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER jobs_flight_done AFTER UPDATE OF status ON jobs
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW
	WHEN (OLD.status IN ('queued', 'preparing', 'running')
	      AND NEW.status NOT IN ('queued', 'preparing', 'running'))
	EXECUTE FUNCTION hangar_flight_maybe_done();
