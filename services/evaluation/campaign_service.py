"""The satisfaction survey of service-oriented party organizations (contract:
shared/contracts/service_surveys.py), mixed into EvaluationService.

Which organizations are in a year's creation is the organizations service's to say
(service_creation_entered); a campaign opens a survey for each under its place, ballots
are recorded on each survey as for any other, and closing the campaign closes them all
under the same satisfaction rule as the rectification surveys."""

from __future__ import annotations

from services.evaluation import campaign_store as campaigns
from services.evaluation import domain
from shared.contracts.excellence import SERVICE_FOCUS
from shared.contracts.service_surveys import SERVICE
from shared.domain.shares import share
from shared.errors import Conflict, ValidationError
from shared.national import places
from shared.platform import entrypoints
from shared.platform.events import handles

operation = entrypoints.operations(SERVICE)
SURVEY_TITLE = "年度服务型党组织满意度测评"
MEASURES = ("organizations", "closed", "valid_ballots", "satisfied", "passed", "failed")


class ServiceSurveyEntrypoints:
    """Methods of EvaluationService (which provides rules)."""

    def _campaign(self, call, campaign_id: int, *, lock: bool = False) -> dict:
        campaign = campaigns.campaign(call.tx, campaign_id, lock=lock)
        call.principal.require_visible(campaign["place_code"], campaigns.campaign_absent(campaign_id))
        return campaign

    @operation
    def open_service_survey(self, call, params):
        place_code, year = params["place_code"], params["year"]
        call.principal.require_place(place_code)
        name = places.name(call.tx, place_code)
        if name is None and self.owner.place(call, place_code):  # imported a moment ago
            name = places.name(call.tx, place_code)
        if name is None:
            raise ValidationError(f"no place {place_code} known to evaluation yet",
                                  {"place_code": ["unknown place (未知的行政区划)"]})
        campaigns.lock_year(call.tx, year)  # two opens of one year take turns
        taken = campaigns.overlapping(call.tx, place_code, year)
        if taken is not None and call.principal.covers(taken["place_code"]):
            raise Conflict(f"the {year} survey of {taken['place_code']} (campaign {taken['id']}) "
                           "covers these organizations already (已开展本年度测评)",
                           {"campaign_id": taken["id"]})
        if taken is not None:
            # A superior's campaign, over this place: its organizations' surveys are the
            # caller's to see, the campaign (its id, its place) is not.
            raise Conflict(f"a {year} survey above {place_code} covers these organizations "
                           "already (上级已开展本年度测评)", {"place_code": place_code})
        title = params["title"] or f"{name}{year}年服务型基层党组织建设满意度测评"
        campaign_id = campaigns.insert_campaign(call.tx, place_code, year, title)
        opened = campaigns.open_surveys(call.tx, campaign_id, place_code, year, SURVEY_TITLE)
        call.tx.audit("survey_campaign", campaign_id, {"opened": {
            "place_code": place_code, "year": year, "surveys": opened}})
        return self._campaign_report(call, campaigns.campaign(call.tx, campaign_id))

    @operation
    def close_service_survey(self, call, params):
        campaign = self._campaign(call, params["campaign_id"], lock=True)
        if campaign["status"] != "open":
            raise Conflict(f"campaign {campaign['id']} was closed on {campaign['closed_on']}", {})
        # Every open survey of the campaign closes now, those without ballots too (closed
        # with 0 valid ballots, neither passed nor failed): nothing can be added to a
        # closed campaign's figures afterwards. The surveys are locked first, so a ballot
        # being recorded either lands before the counts are read or is refused after.
        # One audit row for the campaign and no per-survey survey_closed events: nothing
        # reacts to a service-oriented survey (organizations only follows its cases').
        counts = campaigns.open_counts(call.tx, campaign["id"])
        results = {survey_id: domain.satisfaction(ballots, self.rules)
                   for survey_id, ballots in counts.items() if sum(ballots.values())}
        campaigns.close_surveys(call.tx, results)
        without_ballots = campaigns.close_unballoted(call.tx, campaign["id"])
        campaigns.close_campaign(call.tx, campaign["id"])
        call.tx.audit("survey_campaign", campaign["id"], {"closed": {
            "surveys": len(results), "without_ballots": without_ballots}})
        return self._campaign_report(call, campaigns.campaign(call.tx, campaign["id"]))

    @operation
    def service_survey_report(self, call, params):
        with call.tx.snapshot():
            return self._campaign_report(call, self._campaign(call, params["campaign_id"]))

    def _campaign_report(self, call, campaign: dict) -> dict:
        counted = campaigns.figures(call.tx, campaign)
        rows = counted["by_child"]
        names = places.names(call.tx, [campaign["place_code"], *(r["place_code"] for r in rows)])
        total = {"place_code": campaign["place_code"],
                 "place_name": names.get(campaign["place_code"]),
                 **{m: sum(r[m] for r in rows) for m in MEASURES}}
        for row in rows:
            row["place_name"] = names.get(row["place_code"])
        focus = {r["focus"]: r for r in counted["by_focus"]}
        return {**campaign, "place_name": names.get(campaign["place_code"]),
                "rules": {"satisfied_answers": list(self.rules.satisfied_answers),
                          "threshold": self.rules.survey_threshold},
                "total": _rated(total), "by_child_place": [_rated(r) for r in rows],
                "by_focus": [_rated(focus.get(f) or {"focus": f, **dict.fromkeys(MEASURES, 0)})
                             for f in SERVICE_FOCUS]}

    @handles("organizations", "service_creation_entered")
    def on_service_creation_entered(self, tx, event):
        campaigns.lock_organization(tx, event["data"]["organization_id"])
        campaigns.apply_creation(tx, event["data"])
        # Entered after its year's campaign opened (or its event was late): surveyed too.
        campaigns.join_open_campaigns(tx, event["data"], SURVEY_TITLE)

    def survey_creations_that_came_first(self, tx, organization: dict) -> None:
        """A creation whose event arrived before its organization was known here joined
        no campaign then; it does now. Both handlers take the organization's lock, so
        whichever commits second sees the other's row (neither can miss both)."""
        campaigns.lock_organization(tx, organization["id"])
        for creation in campaigns.creations_of(tx, organization["id"]):
            campaigns.join_open_campaigns(tx, creation, SURVEY_TITLE)


def _rated(row: dict) -> dict:
    row["rate"] = share(row["satisfied"], row["valid_ballots"])
    return row
