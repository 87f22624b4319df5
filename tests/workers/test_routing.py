"""Queue topology and the tenant-tagged base task, on the real Redis broker."""

import json

import pytest
from kombu.transport.native_delayed_delivery import calculate_routing_key

from hookline.tasks.ghl_sync import upsert_contact
from hookline.workers.app import app
from hookline.workers.routing import FAIR_QUEUES, QUEUES, bulk_queue, delivered_from, task_queues_for
from hookline.workers.tenancy import MissingTenant
from tests.conftest import REDIS_URL


def test_every_queue_of_the_map_is_declared():
    assert {queue.name for queue in app.conf.task_queues} == {
        "webhooks", "ghl_sync", "reonic_sync", "email", "audio_upload", "dunning", "reports", "maintenance",
        "webhooks.bulk", "ghl_sync.bulk", "reonic_sync.bulk",
    }
    assert set(QUEUES) | {bulk_queue(queue) for queue in FAIR_QUEUES} == {queue.name for queue in app.conf.task_queues}


def test_tasks_route_to_the_queue_named_by_their_module():
    route = app.amqp.router.route({}, upsert_contact.name)

    assert route["queue"].name == "ghl_sync"


@pytest.mark.parametrize("kwargs", [{}, {"tenant_id": None}, {"tenant_id": "7"}, {"tenant_id": 0}, {"tenant_id": True}])
def test_a_task_without_a_tenant_is_refused_at_the_sender(kwargs):
    with pytest.raises(MissingTenant):
        upsert_contact.apply_async(kwargs={**kwargs, "event_id": 1})


def test_a_task_called_directly_without_a_tenant_is_refused():
    with pytest.raises(MissingTenant):
        upsert_contact(event_id=1)


def test_the_tenant_id_travels_in_the_message_headers(redis_client):
    redis_client.delete("ghl_sync")

    upsert_contact.apply_async(kwargs={"tenant_id": 42, "event_id": 7})

    message = json.loads(redis_client.rpop("ghl_sync"))
    assert message["headers"]["tenant_id"] == 42
    assert message["headers"]["task"] == "hookline.tasks.ghl_sync.upsert_contact"


def test_secret_looking_arguments_are_masked_where_operators_see_them(redis_client):
    from hookline.transport.publish import publish

    redis_client.delete("ghl_sync")
    publish("hookline.tasks.ghl_sync.upsert_contact", tenant_id=7, event_id=3, access_token="tok-live-123",
            client_secret="cs-456")

    [raw] = redis_client.lrange("ghl_sync", 0, -1)
    redis_client.delete("ghl_sync")
    headers = json.loads(raw)["headers"]
    assert "tok-live-123" not in headers["kwargsrepr"] and "cs-456" not in headers["kwargsrepr"]
    assert "'access_token': '***'" in headers["kwargsrepr"]
    assert "'event_id': 3" in headers["kwargsrepr"] and "'tenant_id': 7" in headers["kwargsrepr"]


def test_on_rabbitmq_every_queue_is_a_quorum_queue_behind_a_topic_exchange():
    rabbitmq, redis_ = task_queues_for("amqp://guest:guest@127.0.0.1:5672//"), task_queues_for(REDIS_URL)

    assert {(queue.queue_arguments["x-queue-type"], queue.exchange.type) for queue in rabbitmq} == {("quorum", "topic")}
    assert {(queue.queue_arguments, queue.exchange.type) for queue in redis_} == {(None, "direct")}
    assert [queue.name for queue in rabbitmq] == [queue.name for queue in redis_]


def test_a_delayed_messages_queue_is_read_without_the_delay_prefix():
    # RabbitMQ's native delayed delivery sends a countdown task with its delay in the routing key.
    delayed = calculate_routing_key(6, "ghl_sync.bulk")

    assert delayed != "ghl_sync.bulk"
    assert delivered_from(delayed) == "ghl_sync.bulk"
    assert delivered_from("ghl_sync") == "ghl_sync"
