#!/bin/sh
# queue-flight.sh CONNINFO BRANCH [INTENT [JOB...]]: queues a flight of
# BRANCH's jobs (or of the JOBs named) straight into the database, with
# the dependencies of their job definitions, and prints its number. The
# gate creates flights for real (with revisions and runvars); this is what
# the scheduler's tests and benchmarks need of one.
set -eu
conninfo=$1 branch=$2 intent=${3:-gate}
shift 2; [ $# -gt 0 ] && shift
jobs="{$(printf '%s,' "$@" | sed 's/,$//')}"
psql -X -q -At -v ON_ERROR_STOP=1 -v branch="$branch" -v intent="$intent" \
	-v jobs="$jobs" "$conninfo" <<'SQL'
WITH f AS (
	INSERT INTO flights (branch, intent, status)
	VALUES (:'branch', :'intent', 'queued') RETURNING id),
js AS (
	SELECT d.* FROM job_defs d JOIN branches b ON d.name = ANY (b.jobs)
	WHERE b.name = :'branch'
	AND (cardinality(:'jobs'::text[]) = 0 OR d.name = ANY (:'jobs'::text[]))),
j AS (
	INSERT INTO jobs (flight, job, recipe, arch, nhosts, flags)
	SELECT f.id, js.name, js.recipe, js.arch, js.nhosts, js.flags
	FROM f, js RETURNING flight, job),
d AS (
	INSERT INTO job_deps (flight, job, dep_flight, dep_job)
	SELECT f.id, js.name, f.id, n
	FROM f, js, unnest(js.needs) n WHERE n IN (SELECT name FROM js))
SELECT id FROM f;
SQL
