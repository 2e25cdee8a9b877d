"""The gateway's load smoke (tests/load/test_load_smoke.py runs it headless): staff
reading organizations and the places under a county, and registering now and then.

Environment: JINWEI_TOKEN (a bearer token), JINWEI_COUNTY (a place code whose
townships exist), JINWEI_ORGANIZATION (an organization id to read)."""

import os
import random
import uuid

from locust import HttpUser, between, task

TOKEN = os.environ["JINWEI_TOKEN"]
COUNTY = os.environ["JINWEI_COUNTY"]
ORGANIZATION = os.environ["JINWEI_ORGANIZATION"]


class Staff(HttpUser):
    wait_time = between(0, 0.01)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"
        townships = self.client.get(f"/v1/organizations/list_children?place_code={COUNTY}",
                                    name="list_children").json()["items"]
        self.townships = [t["code"] for t in townships]

    @task(10)
    def read_organization(self):
        self.client.get(f"/v1/organizations/get_organization?organization_id={ORGANIZATION}",
                        name="get_organization")

    @task(5)
    def list_organizations(self):
        self.client.get("/v1/organizations/list_organizations?place_code="
                        f"{random.choice(self.townships)}&limit=20", name="list_organizations")

    @task(1)
    def register(self):
        self.client.post("/v1/organizations/register_organization", name="register_organization",
                         headers={"Idempotency-Key": str(uuid.uuid4())},
                         json={"name": f"负载党支部{uuid.uuid4().hex[:6]}", "kind": "631",
                               "sector": "rural_village",
                               "place_code": random.choice(self.townships),
                               "full_members": 5, "founded_on": "2020-05-01"})
