-- depends: 0002-service-surveys
-- A campaign's survey without a valid ballot when its campaign closed no longer closes:
-- it lapses (status 'lapsed', 无票结束), so a report's `closed` is passed + failed. Those
-- closed so before this rule (closed with 0 valid ballots, passed unset) lapse now.

UPDATE surveys SET status = 'lapsed'
WHERE campaign_id IS NOT NULL AND status = 'closed' AND passed IS NULL;
