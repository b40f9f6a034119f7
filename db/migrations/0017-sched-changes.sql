-- The scheduler keeps hosts, the queue and the plan in memory between
-- passes and reads only what changed (issue 21). Row triggers log which
-- of its rows a transaction touched; a pass reads the log entries of the
-- transactions its last snapshot could not see.
--
-- Entries are found by the writer's transaction id, not by a sequence: a
-- sequence value taken early may commit after larger ones were read, so
-- "id > last seen" would miss it. Every transaction whose xid is below a
-- snapshot's xmin had ended when the snapshot was taken (and is in it if
-- it committed); so a pass reads the entries with xid >= the xmin of the
-- snapshot it read last time, whatever order they committed in.
--
-- kind: 'host' (name), 'job' (num = flight, name = job), 'flight' (num:
-- all its jobs), 'alloc' (name = host), 'res' (num = id), 'all' (a branch
-- priority or a recipe's build step changed: every job row may differ).
CREATE TABLE sched_changes (
	xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
	at          timestamptz NOT NULL DEFAULT now(),
	kind        text NOT NULL,
	num         bigint,
	name        text
);
CREATE INDEX sched_changes_xid_idx ON sched_changes (xid);

CREATE FUNCTION hangar_sched_log(tbl text, r record) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	CASE tbl
	WHEN 'hosts' THEN
		INSERT INTO sched_changes (kind, name) VALUES ('host', r.name);
	WHEN 'host_flags' THEN
		INSERT INTO sched_changes (kind, name) VALUES ('host', r.host);
	WHEN 'jobs', 'job_deps', 'runvars' THEN
		INSERT INTO sched_changes (kind, num, name)
		VALUES ('job', r.flight, r.job);
	WHEN 'flights' THEN
		INSERT INTO sched_changes (kind, num) VALUES ('flight', r.id);
	WHEN 'allocations' THEN
		INSERT INTO sched_changes (kind, name) VALUES ('alloc', r.host);
	WHEN 'reservations' THEN
		INSERT INTO sched_changes (kind, num) VALUES ('res', r.id);
	ELSE
		INSERT INTO sched_changes (kind) VALUES ('all');
	END CASE;
END
$$;

-- An update of a host or an allocation logs the old row's key too: a
-- row whose key moved (a host renamed, an allocation moved) leaves its
-- old place. (Nothing updates the keys of jobs, job_deps or runvars.)
CREATE FUNCTION hangar_sched_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM hangar_sched_log(TG_TABLE_NAME, OLD);
		RETURN NULL;
	END IF;
	PERFORM hangar_sched_log(TG_TABLE_NAME, NEW);
	IF TG_OP = 'UPDATE' AND TG_TABLE_NAME IN ('hosts', 'host_flags',
			'allocations') THEN
		PERFORM hangar_sched_log(TG_TABLE_NAME, OLD);
	END IF;
	RETURN NULL;
END
$$;

-- Updates only of the columns the scheduler reads: heartbeats, step
-- progress and the like write no entries. The plan columns are in: what
-- another scheduler (or a reclaim) writes there must reach this one's
-- copy; but see jobs below.
CREATE TRIGGER hosts_sched_change AFTER INSERT OR DELETE ON hosts
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER hosts_sched_change_upd AFTER UPDATE ON hosts
	FOR EACH ROW WHEN ((OLD.name, OLD.arch, OLD.state, OLD.state_reason,
		OLD.unusable_since, OLD.share_max_tasks, OLD.share_max_wear,
		OLD.share_type, OLD.share_wear)
		IS DISTINCT FROM (NEW.name, NEW.arch, NEW.state, NEW.state_reason,
		NEW.unusable_since, NEW.share_max_tasks, NEW.share_max_wear,
		NEW.share_type, NEW.share_wear))
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER host_flags_sched_change AFTER INSERT OR DELETE OR UPDATE
	ON host_flags
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER jobs_sched_change AFTER INSERT OR DELETE ON jobs
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
-- The plan columns a scheduler writes itself (hangar.sched_own_plan set
-- in that transaction) are not logged: it updates its copy with what it
-- wrote, instead of reading back thousands of rows after a plan moved.
CREATE TRIGGER jobs_sched_change_upd AFTER UPDATE ON jobs
	FOR EACH ROW WHEN ((OLD.status, OLD.arch, OLD.nhosts, OLD.flags,
		OLD.recipe) IS DISTINCT FROM (NEW.status, NEW.arch, NEW.nhosts,
		NEW.flags, NEW.recipe)
		OR ((OLD.planned_start, OLD.planned_end, OLD.planned_hosts,
		OLD.wait_reason) IS DISTINCT FROM (NEW.planned_start,
		NEW.planned_end, NEW.planned_hosts, NEW.wait_reason)
		AND current_setting('hangar.sched_own_plan', true)
		IS DISTINCT FROM 'on'))
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER job_deps_sched_change AFTER INSERT OR DELETE OR UPDATE
	ON job_deps
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
-- pins and the starvation runvar only (a flight's insert has many more)
CREATE TRIGGER runvars_sched_change_ins AFTER INSERT ON runvars
	FOR EACH ROW WHEN (NEW.name ~ '^host[0-9]*$' OR NEW.name = 'starvation')
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER runvars_sched_change_del AFTER DELETE ON runvars
	FOR EACH ROW WHEN (OLD.name ~ '^host[0-9]*$' OR OLD.name = 'starvation')
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER runvars_sched_change_upd AFTER UPDATE ON runvars
	FOR EACH ROW WHEN ((OLD.name ~ '^host[0-9]*$' OR OLD.name = 'starvation'
		OR NEW.name ~ '^host[0-9]*$' OR NEW.name = 'starvation')
		AND (OLD.* IS DISTINCT FROM NEW.*))
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER flights_sched_change AFTER INSERT OR DELETE ON flights
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER flights_sched_change_upd AFTER UPDATE ON flights
	FOR EACH ROW WHEN ((OLD.status, OLD.intent, OLD.queued_at, OLD.branch)
		IS DISTINCT FROM (NEW.status, NEW.intent, NEW.queued_at, NEW.branch))
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER allocations_sched_change AFTER INSERT OR DELETE ON allocations
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER allocations_sched_change_upd AFTER UPDATE ON allocations
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
	EXECUTE FUNCTION hangar_sched_change();
-- an allocation of a reservation carries its end: the scheduler re-reads
-- the allocations of a reservation that changed
CREATE TRIGGER reservations_sched_change AFTER INSERT OR DELETE ON reservations
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER reservations_sched_change_upd AFTER UPDATE ON reservations
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER branches_sched_change AFTER INSERT OR DELETE ON branches
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER branches_sched_change_upd AFTER UPDATE ON branches
	FOR EACH ROW WHEN (OLD.priority IS DISTINCT FROM NEW.priority)
	EXECUTE FUNCTION hangar_sched_change();
CREATE TRIGGER recipe_steps_sched_change AFTER INSERT OR DELETE OR UPDATE
	ON recipe_steps
	FOR EACH ROW EXECUTE FUNCTION hangar_sched_change();

-- How many times the scheduler's periodic full read found its copy wrong
-- (a bug, or a change that escaped the log): /metrics shows it.
ALTER TABLE plan_state ADD COLUMN check_differences bigint NOT NULL DEFAULT 0;
