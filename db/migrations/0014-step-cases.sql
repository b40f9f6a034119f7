-- Per-test results as steps (issue 19): a run step of a recipe may say
-- how its output gives test cases (tap, xtf, hangar, or junit:PATH);
-- each case is then recorded as a step of its own, STEP/CASE, so that the
-- gate judges every case against its baseline, as OSSTest's substeps.
ALTER TABLE recipe_steps
	ADD COLUMN cases text;
