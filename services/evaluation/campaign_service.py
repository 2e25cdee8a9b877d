"""The satisfaction survey of service-oriented party organizations (contract:
shared/contracts/service_surveys.py), mixed into EvaluationService.

Which organizations are in a year's creation is the organizations service's to say
(service_creation_entered); a campaign opens a survey for each under its place, ballots
are recorded on each survey as for any other, and closing the campaign closes those with
valid ballots under the same satisfaction rule as the rectification surveys, the others
lapsing without a result (rules: campaign.py)."""

from __future__ import annotations

from services.evaluation import campaign_store as campaigns
from services.evaluation.campaign import (
    SURVEY_TITLE,
    campaign_report,
    campaign_title,
    known_place,
    refuse_overlap,
    require_open,
    survey_results,
)
from services.evaluation.domain import Rules
from shared.contracts.service_surveys import SERVICE
from shared.contracts.typed import evaluation as typed
from shared.platform import entrypoints
from shared.platform import place_copies as places
from shared.platform.db import Transaction
from shared.platform.entrypoints import Call
from shared.platform.events import handles
from shared.platform.owner_lookup import Lookup

operation = entrypoints.operations(SERVICE)


class ServiceSurveyEntrypoints:
    """Entrypoints of EvaluationService. Of its host they need the nameko dependencies
    only: `db` and `caller` (for @operation), `rules` (domain.Rules) and `owner` (for a
    place imported a moment ago)."""

    # What the host's RuleSet and OwnerLookup dependencies give a worker.
    rules: Rules
    owner: Lookup

    def _campaign(self, call: Call, campaign_id: int, *, lock: bool = False) -> dict:
        campaign = campaigns.campaign(call.tx, campaign_id, lock=lock)
        call.principal.require_visible(campaign["place_code"],
                                       campaigns.campaign_absent(campaign_id))
        return campaign

    @operation
    def open_service_survey(self, call: Call, params: typed.OpenServiceSurveyParams):
        place_code, year = params["place_code"], params["year"]
        call.principal.require_place(place_code)
        name = places.name(call.tx, place_code)
        if name is None and self.owner.place(call, place_code):  # imported a moment ago
            name = places.name(call.tx, place_code)
        name = known_place(place_code, name)
        campaigns.lock_year(call.tx, year)  # two opens of one year take turns
        taken = campaigns.overlapping(call.tx, place_code, year)
        refuse_overlap(place_code, year, taken,
                       seen=taken is not None and call.principal.covers(taken["place_code"]))
        title = campaign_title(name, year, params["title"])
        campaign_id = campaigns.insert_campaign(call.tx, place_code, year, title)
        opened = campaigns.open_surveys(call.tx, campaign_id, place_code, year, SURVEY_TITLE)
        call.tx.audit("survey_campaign", campaign_id, {"opened": {
            "place_code": place_code, "year": year, "surveys": opened}})
        return self._campaign_report(call, campaigns.campaign(call.tx, campaign_id))

    @operation
    def close_service_survey(self, call: Call, params: typed.CloseServiceSurveyParams):
        campaign = self._campaign(call, params["campaign_id"], lock=True)
        require_open(campaign)
        # Every open survey of the campaign ends now: those with valid ballots close,
        # passed or failed; those without lapse (0 valid ballots, neither passed nor
        # failed, not counted as closed: `closed` is passed + failed). Nothing can be added
        # to a closed campaign's figures afterwards. The surveys are locked first, so a
        # ballot being recorded either lands before the counts are read or is refused after.
        # One audit row for the campaign and no per-survey survey_closed events: nothing
        # reacts to a service-oriented survey (organizations only follows its cases').
        results = survey_results(campaigns.open_counts(call.tx, campaign["id"]), self.rules)
        campaigns.close_surveys(call.tx, results)
        without_ballots = campaigns.lapse_unballoted(call.tx, campaign["id"])
        campaigns.close_campaign(call.tx, campaign["id"])
        call.tx.audit("survey_campaign", campaign["id"], {"closed": {
            "surveys": len(results), "without_ballots": without_ballots}})
        return self._campaign_report(call, campaigns.campaign(call.tx, campaign["id"]))

    @operation
    def service_survey_report(self, call: Call, params: typed.ServiceSurveyReportParams):
        with call.tx.snapshot():
            return self._campaign_report(call, self._campaign(call, params["campaign_id"]))

    def _campaign_report(self, call: Call, campaign: dict) -> dict:
        counted = campaigns.figures(call.tx, campaign)
        names = places.names(call.tx, [campaign["place_code"],
                                       *(r["place_code"] for r in counted["by_child"])])
        return campaign_report(campaign, counted["by_child"], counted["by_focus"], names,
                               self.rules)

    @handles("organizations", "service_creation_entered")
    def on_service_creation_entered(self, tx, event):
        campaigns.lock_organization(tx, event["data"]["organization_id"])
        campaigns.apply_creation(tx, event["data"])
        # Entered after its year's campaign opened (or its event was late): surveyed too.
        campaigns.join_open_campaigns(tx, event["data"], SURVEY_TITLE)


def survey_creations_that_came_first(tx: Transaction, organization: dict) -> None:
    """A creation whose event arrived before its organization was known here joined
    no campaign then; it does now. Both handlers take the organization's lock, so
    whichever commits second sees the other's row (neither can miss both)."""
    campaigns.lock_organization(tx, organization["id"])
    for creation in campaigns.creations_of(tx, organization["id"]):
        campaigns.join_open_campaigns(tx, creation, SURVEY_TITLE)
