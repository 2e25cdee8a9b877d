-- depends: 0005-excellence
-- The ledger's page at province scale (issue 9): a case carries its organization's place
-- and the earliest deadline of its current round's open tasks, so a page is chosen
-- from the cases alone by an index, and only its rows are joined and counted.
-- store.save_organization keeps place_code with the organization's; the task writes
-- (rectification_store.refresh_open_deadline) keep open_deadline.

ALTER TABLE rectification_cases ADD COLUMN place_code text COLLATE "C";
ALTER TABLE rectification_cases ADD COLUMN open_deadline date;

UPDATE rectification_cases c SET place_code = o.place_code
FROM organizations o WHERE o.id = c.organization_id;
UPDATE rectification_cases c SET open_deadline = (
    SELECT min(t.deadline) FROM rectification_tasks t
    WHERE t.case_id = c.id AND t.round = c.round AND t.status = 'open');

ALTER TABLE rectification_cases ALTER COLUMN place_code SET NOT NULL;
CREATE INDEX rectification_cases_place ON rectification_cases (place_code, id);
