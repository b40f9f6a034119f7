-- The hosts a job ran on, in the order of their roles (host, host2, ...),
-- each role's last allocation (a retried job may have moved): what a
-- bisection pins its flights to and compares other flights' hosts with.
CREATE FUNCTION job_hosts(p_flight bigint, p_job text) RETURNS text[]
LANGUAGE sql STABLE AS $$
	SELECT array_agg(host ORDER BY length(role), role)
	FROM (SELECT DISTINCT ON (coalesce(ident, 'host')) host,
		     coalesce(ident, 'host') AS role
	      FROM allocations WHERE flight = p_flight AND job = p_job
	      ORDER BY coalesce(ident, 'host'), id DESC) last
$$;
-- running bisections had their hosts in name order: now in role order
UPDATE bisections SET hosts = job_hosts(failure_flight, job)
WHERE status = 'running' AND job_hosts(failure_flight, job) IS NOT NULL;
