"""Field types every provider's schemas share."""

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, Field


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# Providers write ISO 8601 with a zone ("…Z", "+05:30"); a time without one is taken as UTC.
Instant = Annotated[datetime, AfterValidator(_utc)]
Id = Annotated[str, Field(min_length=1, max_length=100)]
