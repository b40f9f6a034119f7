-- Safety evidence (issue 24): for every pushed revision, and on demand for
-- any finished flight, a signed record of what was tested, on which
-- hardware, with which harness, with what result (docs/evidence.md).
--
-- record is the canonical JSON, byte for byte what was signed and what a
-- rebuild from the database gives again; signature is ssh-keygen -Y
-- sign's armored output over it (NULL when the lab configures no key).
-- A row is never changed or deleted: the trigger refuses both.
CREATE TABLE evidence (
	flight      bigint PRIMARY KEY REFERENCES flights,
	branch      text,
	tree        text,               -- the gated tree, NULL if none
	revision    text,               -- its tested revision
	pushed      boolean NOT NULL,   -- the record of a push (else on demand)
	record      text NOT NULL,
	sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	signature   text,
	signer      text,               -- the principal of allowed_signers
	signer_key  text,               -- its public key, "ssh-ed25519 AAAA..."
	created_at  timestamptz NOT NULL DEFAULT now()
);
-- "the record of revision R" (a full id or a prefix)
CREATE INDEX evidence_revision_idx ON evidence (revision text_pattern_ops);
-- "the last pushed records of branch B": change tracking
CREATE INDEX evidence_branch_idx ON evidence (branch, flight DESC)
	WHERE pushed;

CREATE FUNCTION evidence_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the evidence of flight % is immutable', OLD.flight;
END
$$;
CREATE TRIGGER evidence_immutable BEFORE UPDATE OR DELETE ON evidence
	FOR EACH ROW EXECUTE FUNCTION evidence_immutable();

-- The harness that ran a job: the worker's version (`hangar --version`),
-- set when it claims the job. NULL for jobs run before this migration.
ALTER TABLE jobs ADD COLUMN harness text;
-- What a host said its firmware was (BIOS, U-Boot, OpenSBI, iPXE...)
-- while it served this allocation, when it said; NULL otherwise.
ALTER TABLE allocations ADD COLUMN firmware text;
