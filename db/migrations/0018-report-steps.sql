-- A flight's report (issue 21) lists the steps of its jobs that did not
-- pass (db/db-report.c, db_report_jobs). With only the per-flight
-- indexes, that read all of a flight's steps (1,200 in a full Xen flight)
-- to keep the dozen that failed; this index holds only those (running,
-- fail, broken ...), a small part of steps, so the read is a probe.
CREATE INDEX steps_unpassed_idx ON steps (flight, job, stepno)
	WHERE status NOT IN ('pass', 'skip');
