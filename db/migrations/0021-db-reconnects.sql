-- Database reconnects (issue 23): each daemon's sessions that came back
-- after losing the database (a restart, an outage, a failover to the
-- standby), counted by the daemon when it is back, for GET /metrics.
-- last_at is when it last wrote here: after a failover, the first write
-- of each daemon on the new primary.
CREATE TABLE db_reconnects (
	daemon  text PRIMARY KEY,
	count   bigint NOT NULL DEFAULT 0,
	last_at timestamptz NOT NULL DEFAULT now()
);
