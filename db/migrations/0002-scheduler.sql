-- The scheduler: leases on allocated jobs, the plan (each waiting job's
-- and reservation's booking, kept in its own row and rewritten only when
-- it changes), reservation requests that wait for hosts, shared build
-- hosts, and the notifications that wake the scheduler.

-- A job the scheduler gave hosts to is 'preparing' until a worker claims
-- it (lease_owner set, 'running'); the worker keeps lease_until ahead of
-- now with heartbeats. An expired lease gives the hosts back: an unclaimed
-- job returns to the queue, a claimed one (its worker died) ends broken.
ALTER TABLE jobs
	ADD COLUMN lease_owner text,
	ADD COLUMN lease_until timestamptz,
	-- the plan: when the job is expected to start and end, on which hosts,
	-- and why it waits ("why is my job waiting")
	ADD COLUMN planned_start timestamptz,
	ADD COLUMN planned_end timestamptz,
	ADD COLUMN planned_hosts text[],
	ADD COLUMN wait_reason text;
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE lease_until IS NOT NULL;
-- finished runs, newest last: duration estimates and host choice read the
-- ones finished since they last looked
CREATE INDEX jobs_finished_idx ON jobs (finished_at)
	WHERE status IN ('pass', 'fail');

-- A reservation is asked for (waiting), then holds its hosts (active) until
-- released or its end passes (expired). A blockage is a fixed window: the
-- plan keeps its hosts free for it, and it holds them while it lasts.
ALTER TABLE reservations
	ALTER COLUMN start_at DROP NOT NULL,
	ALTER COLUMN start_at DROP DEFAULT,
	ALTER COLUMN end_at DROP NOT NULL,
	ADD COLUMN status text NOT NULL DEFAULT 'waiting'
		CHECK (status IN ('waiting', 'active', 'released', 'expired')),
	ADD COLUMN nhosts int NOT NULL DEFAULT 1 CHECK (nhosts BETWEEN 1 AND 64),
	ADD COLUMN duration int CHECK (duration > 0),   -- seconds
	ADD COLUMN planned_start timestamptz,
	ADD COLUMN planned_hosts text[],
	ADD COLUMN wait_reason text,
	ADD CONSTRAINT reservations_shape CHECK (
		(kind = 'reservation' AND duration IS NOT NULL) OR
		(kind = 'blockage' AND start_at IS NOT NULL AND end_at IS NOT NULL));
CREATE INDEX reservations_live_idx ON reservations (id)
	WHERE status IN ('waiting', 'active');

-- Shared build hosts (OSSTest's share-*): while share_type is set the host
-- is divided into share slots (allocations.shareix 1..N) among jobs of
-- that type; share_wear counts the jobs it took since it was last fresh.
-- A worn host takes no new sharers; once empty it is unshared and marked
-- for a reinstall before its next job.
ALTER TABLE hosts
	ADD COLUMN share_max_tasks int NOT NULL DEFAULT 3
		CHECK (share_max_tasks BETWEEN 1 AND 64),
	ADD COLUMN share_max_wear int NOT NULL DEFAULT 10
		CHECK (share_max_wear >= 1),
	ADD COLUMN share_type text,
	ADD COLUMN share_wear int NOT NULL DEFAULT 0,
	ADD COLUMN needs_reinstall boolean NOT NULL DEFAULT false;

-- "+SECONDS" from now, or any timestamp PostgreSQL reads.
CREATE FUNCTION hangar_when(t text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN t ~ '^\+[0-9]+$'
		THEN now() + make_interval(secs => substr(t, 2)::double precision)
		ELSE t::timestamptz END
$$;

-- The last planning pass, for `hangar plan` and the dashboard.
CREATE TABLE plan_state (
	id          int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	computed_at timestamptz NOT NULL,
	scheduler   text NOT NULL,
	pass_ms     double precision NOT NULL,
	queued      int NOT NULL,
	hosts       int NOT NULL,
	allocated   int NOT NULL
);

-- Wake the scheduler on anything that can change the plan, whoever wrote
-- it: statement triggers, so a flight of a thousand jobs is one wake-up.
CREATE FUNCTION hangar_wake_scheduler() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hangar_sched', TG_TABLE_NAME);
	RETURN NULL;
END
$$;

CREATE TRIGGER jobs_wake AFTER INSERT OR DELETE OR UPDATE OF status ON jobs
	FOR EACH STATEMENT EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER flights_wake AFTER INSERT OR UPDATE OF status ON flights
	FOR EACH STATEMENT EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER allocations_wake AFTER DELETE OR UPDATE OF released_at
	ON allocations
	FOR EACH STATEMENT EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER hosts_wake AFTER INSERT OR DELETE OR UPDATE OF state, arch
	ON hosts
	FOR EACH STATEMENT EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER host_flags_wake AFTER INSERT OR DELETE OR UPDATE ON host_flags
	FOR EACH STATEMENT EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER reservations_wake AFTER INSERT OR UPDATE OF status, released_at
	ON reservations
	FOR EACH STATEMENT EXECUTE FUNCTION hangar_wake_scheduler();
