-- Importing an OSSTest database (issue 8). Imported flights keep their
-- numbers and say where they came from, with a fingerprint of what was
-- read (a flight that changed there since is read again); hosts of arches
-- hangar does not run (armhf, i386) are kept, retired, for their history.
ALTER TABLE flights
	ADD COLUMN imported_from text,       -- the source (its database and host)
	ADD COLUMN import_fingerprint text;
CREATE INDEX flights_imported_idx ON flights (imported_from, id)
	WHERE imported_from IS NOT NULL;
ALTER TABLE hosts DROP CONSTRAINT hosts_arch_check;
ALTER TABLE hosts ADD CONSTRAINT hosts_arch_check
	CHECK (arch IN ('x86_64', 'arm64', 'riscv64') OR state = 'retired');

-- An import writes steps by the hundred thousand: it fills step_passes
-- itself, in one statement per batch, and sets hangar.import so that the
-- row trigger stays out of its way.
DROP TRIGGER steps_passed ON steps;
CREATE TRIGGER steps_passed AFTER INSERT OR UPDATE OF status ON steps
	FOR EACH ROW WHEN (NEW.status = 'pass'
	                   AND current_setting('hangar.import', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION hangar_step_passed();
