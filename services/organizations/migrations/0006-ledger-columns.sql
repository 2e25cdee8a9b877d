-- depends: 0005-excellence
-- The ledger's page at province scale (issue 9): a case carries its organization's place
-- and the earliest deadline of its current round's open tasks, so a page is chosen
-- from the cases alone by an index, and only its rows are joined and counted.
--
-- Kept by triggers, not by the code that writes: during a rolling deploy the pods of
-- the version before this write cases, tasks and organizations too, knowing nothing of
-- these columns (and no later code path can forget them).

ALTER TABLE rectification_cases ADD COLUMN place_code text COLLATE "C";
ALTER TABLE rectification_cases ADD COLUMN open_deadline date;

UPDATE rectification_cases c SET place_code = o.place_code
FROM organizations o WHERE o.id = c.organization_id;
UPDATE rectification_cases c SET open_deadline = (
    SELECT min(t.deadline) FROM rectification_tasks t
    WHERE t.case_id = c.id AND t.round = c.round AND t.status = 'open');

ALTER TABLE rectification_cases ALTER COLUMN place_code SET NOT NULL;
CREATE INDEX rectification_cases_place ON rectification_cases (place_code, id);

-- A new case is where its organization is; a case in a new round has none of its open
-- tasks yet (save_case writes `round` every time: recounted then, cheaply).
CREATE FUNCTION rectification_case_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT o.place_code INTO NEW.place_code FROM organizations o
        WHERE o.id = NEW.organization_id;
    END IF;
    NEW.open_deadline := (SELECT min(t.deadline) FROM rectification_tasks t
                          WHERE t.case_id = NEW.id AND t.round = NEW.round
                            AND t.status = 'open');
    RETURN NEW;
END $$;
CREATE TRIGGER rectification_cases_derived
    BEFORE INSERT OR UPDATE OF round ON rectification_cases
    FOR EACH ROW EXECUTE FUNCTION rectification_case_derived();

-- A task added, done or rescheduled: its case's earliest open deadline again.
CREATE FUNCTION rectification_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rectification_cases c SET open_deadline = (
        SELECT min(t.deadline) FROM rectification_tasks t
        WHERE t.case_id = c.id AND t.round = c.round AND t.status = 'open')
    WHERE c.id = NEW.case_id;
    RETURN NULL;
END $$;
CREATE TRIGGER rectification_tasks_open_deadline
    AFTER INSERT OR UPDATE OF status, deadline, round ON rectification_tasks
    FOR EACH ROW EXECUTE FUNCTION rectification_task_changed();

-- An organization moved: its cases are listed under its new place.
CREATE FUNCTION organization_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rectification_cases SET place_code = NEW.place_code WHERE organization_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER organizations_moved
    AFTER UPDATE OF place_code ON organizations
    FOR EACH ROW WHEN (OLD.place_code IS DISTINCT FROM NEW.place_code)
    EXECUTE FUNCTION organization_moved();
