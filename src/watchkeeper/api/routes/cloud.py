"""``GET /metadata/endpoints``: this server described as an Azure cloud, in the shape Azure Resource
Manager serves it (``../shared/specs/clients.md`` §7).

Tools that support sovereign clouds read this one document to learn every endpoint: msticpy (set
``Azure: resource_manager_url`` in msticpyconfig to this server) and azure-cli (``az cloud
register --endpoint-resource-manager``). Every endpoint it names is this server as the client
addressed it, so tokens are requested from our token service, for our own audience, and queries
go to our Log Analytics and Graph routes. It holds no tenant data, so it needs no token.

``api-version`` 2022-09-01 and later answer a list of clouds, as Resource Manager does; older
versions, ``latest`` and none answer the one cloud.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request

from watchkeeper.api.deps import request_origin

__all__ = ["cloud_metadata", "router"]

router = APIRouter(tags=["cloud"])

# Resource Manager switched the document to a list of clouds in this version
_LIST_SINCE = "2022-09-01"
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}")


def cloud_metadata(origin: str) -> dict[str, Any]:
    """The cloud document for a server reached at ``origin`` (``https://host:port``)."""
    root = f"{origin}/"
    return {
        "name": "watchkeeper",
        "portal": origin,
        "authentication": {
            "loginEndpoint": origin,
            "audiences": [root],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "resourceManager": root,
        "microsoftGraphResourceId": root,
        "logAnalyticsResourceId": origin,
        "suffixes": {},
    }


@router.get("/metadata/endpoints", operation_id="cloud-endpoints")
def get_cloud_endpoints(request: Request, api_version: str = Query(default="", alias="api-version")) -> Any:
    """This server's endpoints as an Azure cloud (Resource Manager's metadata document)."""
    document = cloud_metadata(request_origin(request))
    dated = _DATED.match(api_version)
    if dated and dated.group(0) >= _LIST_SINCE:
        return [document]
    return document
