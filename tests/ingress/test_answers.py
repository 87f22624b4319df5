"""The accepted answer is written out by hand (pipeline.accepted); it must be what JSONResponse renders."""

import pytest
from starlette.responses import JSONResponse

from hookline.ingress.pipeline import accepted
from hookline.models import EventStatus


@pytest.mark.parametrize("status", [status.value for status in EventStatus])
@pytest.mark.parametrize("duplicate", [False, True])
def test_the_accepted_answer_is_what_jsonresponse_renders(status, duplicate):
    expected = JSONResponse({"event_id": 12345678901, "status": status, "duplicate": duplicate},
                            status_code=200 if duplicate else 202)

    answer = accepted(12345678901, status, duplicate)

    assert (answer.status_code, answer.body) == (expected.status_code, expected.body)
    assert answer.headers["content-type"] == expected.headers["content-type"]
    assert answer.headers["content-length"] == expected.headers["content-length"]
