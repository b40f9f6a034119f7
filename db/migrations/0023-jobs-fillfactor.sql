-- The scheduler rewrites the plan columns of queued jobs (planned_*,
-- wait_reason) whenever their plan moves: a hundred rows after one job
-- ends is usual. None of those columns is indexed, so each update can
-- stay on its page (a HOT update, no index entries) when the page has
-- room; at the default fillfactor of 100 a freshly inserted flight's
-- pages have none, and every such update wrote five index entries.
-- Pages written from now on keep a tenth free; older ones get room as
-- their dead rows are pruned.
ALTER TABLE jobs SET (fillfactor = 90);
