-- Jobs pinned to a host that is not usable (issue 18): they wait for it
-- [scheduler] pinned-wait from when it stopped being usable, then end
-- broken. state_since cannot say when that was: it moves on every change
-- of state or reason, and a failed health check marks a broken host
-- broken again, so a host that never comes back would look newly broken
-- every health-check interval. unusable_since moves only when the host
-- leaves free (and is NULL while it is free): broken, then maintenance,
-- then broken again is one stretch.
ALTER TABLE hosts ADD COLUMN unusable_since timestamptz;
UPDATE hosts SET unusable_since = state_since WHERE state <> 'free';

CREATE FUNCTION hangar_host_unusable_since() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.state = 'free' THEN
		NEW.unusable_since := NULL;
	ELSIF TG_OP = 'INSERT' THEN
		NEW.unusable_since := coalesce(NEW.unusable_since, NEW.state_since, now());
	ELSIF OLD.state = 'free' OR OLD.unusable_since IS NULL THEN
		NEW.unusable_since := coalesce(NEW.state_since, now());
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER hosts_unusable_since BEFORE INSERT OR UPDATE OF state ON hosts
	FOR EACH ROW EXECUTE FUNCTION hangar_host_unusable_since();
