-- Sites and remote workers (issue 22). A host belongs to a site, and a
-- job's hosts are all of one site; the worker of a site claims only the
-- jobs of its hosts. A remote worker reaches the controller over HTTPS
-- with a token of the worker role, bound to its site.
--
-- hosts.site: `hangar lab apply` sets it from [host] site (default
-- [lab] site); 'local' is the default of [lab] site, so an existing lab
-- is one site, as it was.
ALTER TABLE hosts
	ADD COLUMN site text NOT NULL DEFAULT 'local';
CREATE INDEX hosts_site_idx ON hosts (site);

-- A worker token is for one site; no other role has one.
ALTER TABLE api_tokens
	ADD COLUMN site text;
ALTER TABLE api_tokens
	DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens
	ADD CONSTRAINT api_tokens_role_check
	CHECK (role IN ('viewer', 'developer', 'admin', 'worker'));
ALTER TABLE api_tokens
	ADD CONSTRAINT api_tokens_site_check
	CHECK ((role = 'worker') = (site IS NOT NULL));

-- The remote workers as the controller last heard from them (claim and
-- heartbeat): the dashboard's site health. A worker beside the database
-- has no row: its jobs' leases say it is alive.
CREATE TABLE workers (
	site        text NOT NULL,
	name        text NOT NULL,
	last_seen   timestamptz NOT NULL DEFAULT now(),
	address     text,
	version     text,
	running     int NOT NULL DEFAULT 0,     -- jobs it runs
	spool_bytes bigint NOT NULL DEFAULT 0,  -- not yet acknowledged
	spool_files bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (site, name)
);

-- What a worker sent after it lost a job's lease (recovery took the job,
-- or a message of an earlier attempt came late): kept as evidence, shown
-- on the job's page, never judged.
CREATE TABLE late_records (
	id          bigserial PRIMARY KEY,
	flight      bigint NOT NULL,
	job         text NOT NULL,
	attempt     int NOT NULL,
	owner       text NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	record      jsonb NOT NULL,
	FOREIGN KEY (flight, job) REFERENCES jobs ON DELETE CASCADE
);
CREATE INDEX late_records_job_idx ON late_records (flight, job);
