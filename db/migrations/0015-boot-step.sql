-- Machines that boot (issue 19): a recipe step `boot` powers a host on
-- and judges it from its console (expect=, fail=, started= patterns).
ALTER TABLE recipe_steps DROP CONSTRAINT recipe_steps_kind_check;
ALTER TABLE recipe_steps ADD CONSTRAINT recipe_steps_kind_check
	CHECK (kind IN ('host-power-cycle', 'host-install', 'reboot', 'build',
	                'install-build', 'run', 'logs-capture', 'boot'));
