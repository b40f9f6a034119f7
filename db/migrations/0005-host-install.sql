-- host-install: each installation a worker starts gets a one-time token;
-- the installer on the host reports back with it over HTTP
-- (GET /api/v1/install/TOKEN), which is how the worker knows it is time
-- to switch the host's boot entry back to local boot.
CREATE TABLE host_installs (
	token       text PRIMARY KEY CHECK (token ~ '^[0-9a-f]{32}$'),
	host        text NOT NULL REFERENCES hosts,
	flight      bigint,
	job         text,
	created_at  timestamptz NOT NULL DEFAULT now(),
	reported_at timestamptz,
	reported_by text                     -- the client address
);
CREATE INDEX host_installs_host_idx ON host_installs (host, created_at DESC);
