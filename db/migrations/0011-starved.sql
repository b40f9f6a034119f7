-- Starved jobs (issue 17): a branch says whether a flight whose jobs gave
-- up for want of a host may push. The default is no: a revision no test
-- of an arch has run is not pushed for that arch.
ALTER TABLE branches
	ADD COLUMN push_starved boolean NOT NULL DEFAULT false;
