-- hangar's schema: OSSTest's proven data model (flights, jobs, steps,
-- runvars keyed by flight and job name), with the history indexes OSSTest
-- only added in 2020 built in from the start (reference section 10), row
-- locks instead of table locks, and hosts, allocations, artifacts,
-- bisections, tokens and events as tables of their own.
--
-- Status words are OSSTest's. Times are timestamptz.

-- ---- configuration loaded by `hangar lab apply` ----

CREATE TABLE trees (
	name        text PRIMARY KEY,
	url         text NOT NULL,
	retired     boolean NOT NULL DEFAULT false,
	updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recipes (
	name        text PRIMARY KEY,
	artifacts   text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE recipe_steps (
	recipe      text NOT NULL REFERENCES recipes ON DELETE CASCADE,
	idx         int NOT NULL,
	kind        text NOT NULL CHECK (kind IN ('host-power-cycle',
	              'host-install', 'reboot', 'build', 'install-build', 'run',
	              'logs-capture')),
	name        text NOT NULL,          -- the testid
	command     text,
	timeout     int,                    -- seconds; NULL: the kind's default
	PRIMARY KEY (recipe, idx),
	UNIQUE (recipe, name)
);

-- A job of the configuration: flights copy it into jobs + runvars.
CREATE TABLE job_defs (
	name        text PRIMARY KEY,
	recipe      text NOT NULL REFERENCES recipes,
	arch        text NOT NULL CHECK (arch IN ('x86_64', 'arm64', 'riscv64')),
	nhosts      int NOT NULL DEFAULT 1 CHECK (nhosts BETWEEN 1 AND 16),
	flags       text[] NOT NULL DEFAULT '{}',
	needs       text[] NOT NULL DEFAULT '{}',
	runvars     text[] NOT NULL DEFAULT '{}'   -- "name=value", in order
);

CREATE TABLE branches (
	name        text PRIMARY KEY,
	tree        text NOT NULL REFERENCES trees,
	staging_ref text NOT NULL DEFAULT 'staging',
	target_ref  text NOT NULL DEFAULT 'master',
	pins        text[] NOT NULL DEFAULT '{}',
	jobs        text[] NOT NULL DEFAULT '{}',
	allow       text[] NOT NULL DEFAULT '{}',   -- "JOBPAT [STEPPAT]"
	priority    int NOT NULL DEFAULT 0,
	blocked     boolean NOT NULL DEFAULT false, -- OSSTest's $branch.block
	retired     boolean NOT NULL DEFAULT false,
	updated_at  timestamptz NOT NULL DEFAULT now()
);

-- ---- hosts ----

CREATE TABLE hosts (
	name        text PRIMARY KEY,
	arch        text NOT NULL CHECK (arch IN ('x86_64', 'arm64', 'riscv64')),
	address     text NOT NULL,
	port        int NOT NULL DEFAULT 22,
	username    text NOT NULL DEFAULT 'root',
	workdir     text NOT NULL,
	power       text NOT NULL DEFAULT 'none'
	              CHECK (power IN ('ipmi', 'pdudaemon', 'command', 'none')),
	-- the power method's settings (ipmi address, user, password, cipher;
	-- commands; pdu): read by workers and CLI, never served by the web
	power_config jsonb NOT NULL DEFAULT '{}',
	console     text NOT NULL DEFAULT 'none',
	boot_timeout int NOT NULL DEFAULT 300,
	-- administrative state; "allocated" is derived from allocations
	state       text NOT NULL DEFAULT 'free'
	              CHECK (state IN ('free', 'maintenance', 'broken', 'retired')),
	state_reason text,
	state_since timestamptz NOT NULL DEFAULT now(),
	properties  jsonb NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE host_flags (
	host        text NOT NULL REFERENCES hosts ON DELETE CASCADE,
	flag        text NOT NULL,
	PRIMARY KEY (host, flag)
);
CREATE INDEX host_flags_flag_idx ON host_flags (flag, host);

-- ---- flights, jobs, steps, runvars ----

CREATE TABLE flights (
	id          bigserial PRIMARY KEY,
	branch      text REFERENCES branches,   -- NULL for some ad-hoc flights
	intent      text NOT NULL
	              CHECK (intent IN ('gate', 'adhoc', 'bisect', 'retest')),
	label       text,                       -- e.g. an imported blessing
	status      text NOT NULL DEFAULT 'constructing'
	              CHECK (status IN ('constructing', 'queued', 'running',
	                                'finished', 'cancelled')),
	verdict     text NOT NULL DEFAULT 'pending'
	              CHECK (verdict IN ('pending', 'push', 'no-push', 'none')),
	pushed      boolean NOT NULL DEFAULT false,
	baseline_flight bigint REFERENCES flights,
	retest_of   bigint REFERENCES flights,
	requested_by text,
	-- queue position: a retest keeps its original flight's
	queued_at   timestamptz NOT NULL DEFAULT now(),
	created_at  timestamptz NOT NULL DEFAULT now(),
	started_at  timestamptz,
	finished_at timestamptz,
	report      jsonb
);
-- "the flights of branch B, newest first" (gate history, baseline search)
CREATE INDEX flights_branch_idx ON flights (branch, id DESC);
-- unfinished flights are few: the gate and the dashboard look them up
CREATE INDEX flights_unfinished_idx ON flights (id)
	WHERE status IN ('constructing', 'queued', 'running');

-- The revision of each tree a flight tests: one per tree.
CREATE TABLE flight_revisions (
	flight      bigint NOT NULL REFERENCES flights ON DELETE CASCADE,
	tree        text NOT NULL,
	revision    text NOT NULL,
	PRIMARY KEY (flight, tree)
);
-- "newest flight of branch B that tested revision R of tree T": candidates
-- come newest first straight from this index, then are checked for B.
CREATE INDEX flight_revisions_rev_idx ON flight_revisions
	(tree, revision, flight DESC);

CREATE TABLE jobs (
	flight      bigint NOT NULL REFERENCES flights ON DELETE CASCADE,
	job         text NOT NULL,
	recipe      text NOT NULL,
	arch        text NOT NULL,
	nhosts      int NOT NULL DEFAULT 1,
	flags       text[] NOT NULL DEFAULT '{}',
	status      text NOT NULL DEFAULT 'queued'
	              CHECK (status IN ('queued', 'preparing', 'running', 'pass',
	                                'fail', 'broken', 'blocked', 'cancelled',
	                                'starved')),
	created_at  timestamptz NOT NULL DEFAULT now(),
	started_at  timestamptz,
	finished_at timestamptz,
	PRIMARY KEY (flight, job)
);
-- the queue: jobs not yet finished, oldest flight first
CREATE INDEX jobs_active_idx ON jobs (flight, job)
	WHERE status IN ('queued', 'preparing', 'running');
-- "job J across flights" (job history, duration estimates)
CREATE INDEX jobs_history_idx ON jobs (job, flight DESC);

-- A job's dependencies: it uses the artifacts of dep_job, which may be in
-- another flight (a retest reuses the original flight's builds).
CREATE TABLE job_deps (
	flight      bigint NOT NULL,
	job         text NOT NULL,
	dep_flight  bigint NOT NULL,
	dep_job     text NOT NULL,
	PRIMARY KEY (flight, job, dep_flight, dep_job),
	FOREIGN KEY (flight, job) REFERENCES jobs ON DELETE CASCADE,
	FOREIGN KEY (dep_flight, dep_job) REFERENCES jobs
);
CREATE INDEX job_deps_dep_idx ON job_deps (dep_flight, dep_job);

CREATE TABLE runvars (
	flight      bigint NOT NULL,
	job         text NOT NULL,
	name        text NOT NULL,
	val         text NOT NULL,
	synth       boolean NOT NULL DEFAULT false,  -- written while running
	PRIMARY KEY (flight, job, name),
	FOREIGN KEY (flight, job) REFERENCES jobs ON DELETE CASCADE
);

CREATE TABLE steps (
	flight      bigint NOT NULL,
	job         text NOT NULL,
	stepno      int NOT NULL,
	kind        text NOT NULL,      -- recipe step kind (OSSTest's script)
	name        text NOT NULL,      -- the testid, stable across flights
	status      text NOT NULL DEFAULT 'running'
	              CHECK (status IN ('running', 'pass', 'fail', 'broken',
	                                'blocked', 'cancelled', 'starved',
	                                'skip')),
	started_at  timestamptz,
	finished_at timestamptz,
	logfile     text,
	PRIMARY KEY (flight, job, stepno),
	UNIQUE (flight, job, name),
	FOREIGN KEY (flight, job) REFERENCES jobs ON DELETE CASCADE
);
-- "steps of job J across flights" and "did job J / step S ever pass on
-- branch B": both walk (job, name) newest first; the pass index holds only
-- the rows that answer the second question.
CREATE INDEX steps_history_idx ON steps (job, name, flight DESC)
	INCLUDE (status);
CREATE INDEX steps_pass_idx ON steps (job, name, flight DESC)
	WHERE status = 'pass';
CREATE INDEX steps_broken_idx ON steps (flight) WHERE status = 'broken';

-- ---- allocations: hosts given to a job or a person ----

CREATE TABLE reservations (
	id          bigserial PRIMARY KEY,
	kind        text NOT NULL CHECK (kind IN ('reservation', 'blockage')),
	owner       text NOT NULL,          -- who asked
	arch        text,
	flags       text[] NOT NULL DEFAULT '{}',
	host        text REFERENCES hosts,
	reason      text,
	start_at    timestamptz NOT NULL DEFAULT now(),
	end_at      timestamptz NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	released_at timestamptz,
	CHECK (end_at > start_at)
);
CREATE INDEX reservations_active_idx ON reservations (end_at)
	WHERE released_at IS NULL;

CREATE TABLE allocations (
	id          bigserial PRIMARY KEY,
	host        text NOT NULL REFERENCES hosts,
	shareix     int NOT NULL DEFAULT 0,  -- >0: a share of a shared build host
	-- the owner: a job (with the role of the host in it) or a reservation
	flight      bigint,
	job         text,
	ident       text,                    -- "host", "src_host", ...
	reservation bigint REFERENCES reservations,
	allocated_at timestamptz NOT NULL DEFAULT now(),
	planned_end timestamptz,
	released_at timestamptz,
	FOREIGN KEY (flight, job) REFERENCES jobs ON DELETE CASCADE,
	CHECK ((flight IS NOT NULL AND job IS NOT NULL AND reservation IS NULL)
	    OR (flight IS NULL AND job IS NULL AND reservation IS NOT NULL))
);
-- At most one live owner per host (share): the database itself refuses a
-- double allocation, whichever scheduler tries it.
CREATE UNIQUE INDEX allocations_live_idx ON allocations (host, shareix)
	WHERE released_at IS NULL;
-- "jobs that ran on host H", newest first (host history, host choice)
CREATE INDEX allocations_host_idx ON allocations (host, flight DESC)
	WHERE flight IS NOT NULL;
CREATE INDEX allocations_job_idx ON allocations (flight, job)
	WHERE flight IS NOT NULL;

-- ---- artifacts, bisections, tokens, events ----

CREATE TABLE artifacts (
	flight      bigint NOT NULL,
	job         text NOT NULL,
	path        text NOT NULL,           -- relative, e.g. dist/x.tar.gz
	sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	size        bigint NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (flight, job, path),
	FOREIGN KEY (flight, job) REFERENCES jobs ON DELETE CASCADE
);
CREATE INDEX artifacts_sha256_idx ON artifacts (sha256);

CREATE TABLE bisections (
	id          bigserial PRIMARY KEY,
	branch      text NOT NULL REFERENCES branches,
	job         text NOT NULL,
	step        text NOT NULL,
	status      text NOT NULL DEFAULT 'running'
	              CHECK (status IN ('running', 'found', 'inconclusive',
	                                'inconsistent', 'unreproducible',
	                                'doubtful')),
	basis_flight bigint REFERENCES flights,
	failure_flight bigint REFERENCES flights,
	hosts       text[] NOT NULL DEFAULT '{}',
	culprit_tree text,
	culprit_commit text,
	culprit_parent text,
	detail      jsonb NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz
);
-- one running bisection per (branch, job, step)
CREATE UNIQUE INDEX bisections_running_idx ON bisections (branch, job, step)
	WHERE status = 'running';

CREATE TABLE api_tokens (
	id          bigserial PRIMARY KEY,
	username    text NOT NULL,
	role        text NOT NULL CHECK (role IN ('viewer', 'developer', 'admin')),
	token_hash  text NOT NULL UNIQUE,    -- sha256 of the token, hex
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  text,
	last_used_at timestamptz,
	revoked_at  timestamptz
);

-- The audit and event log: who did what to which flight, host or branch.
CREATE TABLE events (
	id          bigserial PRIMARY KEY,
	at          timestamptz NOT NULL DEFAULT now(),
	actor       text NOT NULL,           -- "user@cli", "scheduler", ...
	kind        text NOT NULL,           -- "host.added", "power.cycle", ...
	flight      bigint,
	job         text,
	host        text,
	branch      text,
	detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_host_idx ON events (host, id DESC) WHERE host IS NOT NULL;
CREATE INDEX events_flight_idx ON events (flight, id DESC)
	WHERE flight IS NOT NULL;
CREATE INDEX events_branch_idx ON events (branch, id DESC)
	WHERE branch IS NOT NULL;
