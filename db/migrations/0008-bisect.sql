-- Bisection (issue 7): its flights belong to it, and it keeps its report
-- and who started it; detail holds the tested graph for the dashboard.
ALTER TABLE flights ADD COLUMN bisection bigint REFERENCES bisections;
CREATE INDEX flights_bisection_idx ON flights (bisection, id)
	WHERE bisection IS NOT NULL;
ALTER TABLE bisections
	ADD COLUMN report_text text,
	ADD COLUMN started_by text;
