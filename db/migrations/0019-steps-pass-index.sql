-- steps_pass_idx (job, name, flight DESC) WHERE status = 'pass' answered
-- "the newest pass of step S of job J" (db_bisect_find_pair). So does
-- steps_history_idx, on the same key with the status included: the scan
-- skips the few steps that did not pass, from the index alone. A second
-- copy of nearly every step cost each step written one more index insert,
-- and a bulk import (hangar import osstest) a tenth of its time building
-- it again (bench/b0600-import.sh).
DROP INDEX steps_pass_idx;
