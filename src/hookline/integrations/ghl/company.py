"""GoHighLevel calls made with an agency's Company token: where the app is installed, and location tokens."""

from __future__ import annotations

import time
from typing import Any

from hookline.integrations.auth import TokenSet
from hookline.integrations.errors import Transient
from hookline.integrations.ghl import resources as r
from hookline.integrations.ghl.auth import LOCATION, require_user_type
from hookline.integrations.ghl.client import V_CRM, GHLClient


class GHLCompanyClient(GHLClient):
    """One agency (`location_id` holds the companyId): its rate limits are the Company resource's."""

    def __init__(self, *args: Any, app_id: str, **kwargs: Any) -> None:
        super().__init__(*args, app_id=app_id, **kwargs)
        self.app_id = app_id

    @property
    def company_id(self) -> str:
        return self.location_id

    def installed_locations(self, *, skip: int = 0, limit: int = 100) -> r.InstalledLocationPage:
        """One page of the locations the app is installed on (`skip` / `limit`)."""
        params = {"companyId": self.company_id, "appId": self.app_id, "isInstalled": "true", "skip": skip,
                  "limit": limit}
        return r.InstalledLocationPage.model_validate(self._call("GET", "/oauth/installedLocations", V_CRM,
                                                                 params=params))

    def location_token(self, location_id: str) -> TokenSet:
        """`POST /oauth/locationToken` (form-encoded): a location's access token, minted from the Company token.

        Minting again only gives another token, so it is retried like a read. A location token
        has no refresh token: it is minted again when it expires.
        """
        form = {"companyId": self.company_id, "locationId": location_id}
        body = self._call("POST", "/oauth/locationToken", V_CRM, data=form, idempotent=True)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise Transient("GHL POST /oauth/locationToken: no token in the answer")
        require_user_type({"userType": body.get("userType", LOCATION), **body}, LOCATION, location_id=location_id)
        expires_in = float(body.get("expires_in") or 86399)
        return TokenSet(body["access_token"], None, time.time() + expires_in, body.get("scope"))
