"""``/metadata/endpoints``: the cloud document that points sovereign-cloud tools at this server."""

from __future__ import annotations

import ssl

import httpx

from tests.api.conftest import Platform


def test_cloud_document_names_this_server_for_every_endpoint(platform: Platform) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=platform.ca_cert)) as client:
        document = client.get(
            f"{platform.https_url}/metadata/endpoints", params={"api-version": "latest"}
        ).json()
    assert document["authentication"]["loginEndpoint"] == platform.https_url
    assert document["authentication"]["audiences"] == [f"{platform.https_url}/"]
    assert document["logAnalyticsResourceId"] == platform.https_url
    assert document["resourceManager"] == f"{platform.https_url}/"
    assert document["microsoftGraphResourceId"] == f"{platform.https_url}/"


def test_cloud_document_is_a_list_from_api_version_2022_09_01(platform: Platform) -> None:
    url = f"{platform.url}/metadata/endpoints"
    listed = httpx.get(url, params={"api-version": "2022-09-01"}).json()
    single = httpx.get(url, params={"api-version": "2019-05-01"}).json()
    assert listed == [single]
    assert single["logAnalyticsResourceId"] == platform.url


def test_tokens_for_the_documented_audience_reach_the_query_api(platform: Platform) -> None:
    """The audience the document names is one the token service issues and the query API accepts."""
    document = httpx.get(f"{platform.url}/metadata/endpoints").json()
    app = platform.tenants["a"].apps["reader"]
    form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret,
            "scope": f"{document['logAnalyticsResourceId']}/.default"}  # fmt: skip
    token = httpx.post(f"{document['authentication']['loginEndpoint']}/{platform.tenants['a'].id}/oauth2/v2.0/token",
                       data=form).json()["access_token"]  # fmt: skip
    answer = httpx.post(f"{document['logAnalyticsResourceId']}/v1/workspaces/{platform.workspace('a')}/query",
                        json={"query": "SecurityEvent | count"}, headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["tables"][0]["rows"] == [[3]]
