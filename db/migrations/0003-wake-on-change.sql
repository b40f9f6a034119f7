-- Wake the scheduler only on real changes. The statement triggers of
-- 0002 fired on every UPDATE, even one that changed no row: the
-- scheduler's own reclaim statements woke it again after each pass, so
-- it never rested. Row triggers with WHEN clauses fire only for rows
-- that changed; PostgreSQL sends one notification per transaction for
-- identical payloads, so a flight of a thousand jobs is still one wake-up.
DROP TRIGGER jobs_wake ON jobs;
DROP TRIGGER flights_wake ON flights;
DROP TRIGGER allocations_wake ON allocations;
DROP TRIGGER hosts_wake ON hosts;
DROP TRIGGER host_flags_wake ON host_flags;
DROP TRIGGER reservations_wake ON reservations;

CREATE TRIGGER jobs_wake AFTER INSERT OR DELETE ON jobs
	FOR EACH ROW EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER jobs_wake_status AFTER UPDATE OF status ON jobs
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER flights_wake AFTER INSERT ON flights
	FOR EACH ROW EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER flights_wake_status AFTER UPDATE OF status ON flights
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER allocations_wake AFTER DELETE ON allocations
	FOR EACH ROW EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER allocations_wake_release AFTER UPDATE OF released_at
	ON allocations
	FOR EACH ROW WHEN (OLD.released_at IS DISTINCT FROM NEW.released_at)
	EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER hosts_wake AFTER INSERT OR DELETE ON hosts
	FOR EACH ROW EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER hosts_wake_state AFTER UPDATE OF state, arch ON hosts
	FOR EACH ROW WHEN ((OLD.state, OLD.arch) IS DISTINCT FROM (NEW.state, NEW.arch))
	EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER host_flags_wake AFTER INSERT OR DELETE OR UPDATE ON host_flags
	FOR EACH ROW EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER reservations_wake AFTER INSERT ON reservations
	FOR EACH ROW EXECUTE FUNCTION hangar_wake_scheduler();
CREATE TRIGGER reservations_wake_status AFTER UPDATE OF status, released_at
	ON reservations
	FOR EACH ROW WHEN ((OLD.status, OLD.released_at) IS DISTINCT FROM (NEW.status, NEW.released_at))
	EXECUTE FUNCTION hangar_wake_scheduler();
