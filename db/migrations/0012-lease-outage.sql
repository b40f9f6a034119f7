-- A database outage is nobody's fault (issue 18): the lease a worker last
-- renewed may run out while the database is down, through no fault of the
-- worker. Each claimed job remembers its lease length, so that recovery
-- counts a lease from the database's start as well: a worker that waited
-- out the outage has one whole lease to come back before its jobs are
-- taken from it.
ALTER TABLE jobs
	ADD COLUMN lease_secs int;

-- A job recovery re-queued (its worker died before any test step) counts
-- apart from lab trouble: a worker's crash during host-power-cycle must
-- not spend the one retry a job gets when the lab fails it.
ALTER TABLE jobs
	ADD COLUMN recoveries int NOT NULL DEFAULT 0;
