-- Console steps (issue 19): `console-send TEXT` types on a host's serial
-- console and `expect PATTERN` waits for a line there.
ALTER TABLE recipe_steps DROP CONSTRAINT recipe_steps_kind_check;
ALTER TABLE recipe_steps ADD CONSTRAINT recipe_steps_kind_check
	CHECK (kind IN ('host-power-cycle', 'host-install', 'reboot', 'build',
	                'install-build', 'run', 'logs-capture', 'boot',
	                'console-send', 'expect'));
