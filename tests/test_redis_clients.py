"""One factory for Hookline's Redis clients: sentinel:// URLs reach the current primary, also after a failover."""

import asyncio
import time

import pytest
import redis
from redis.sentinel import MasterNotFoundError

from hookline.redis_clients import async_client, broker_transport_options, parse_sentinel_url, sync_client
from tests.support.sentinel import MASTER, PASSWORD


def test_a_sentinel_url_names_every_sentinel_its_db_and_password():
    parsed = parse_sentinel_url("sentinel://:p%40ss@10.0.0.1:26379/4;sentinel://10.0.0.2;sentinel://u:x@10.0.0.3:26381")

    assert parsed.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26381))
    assert (parsed.db, parsed.username, parsed.password) == (4, "u", "p@ss")


def test_the_broker_gets_the_master_name_and_the_sentinels_password():
    options = broker_transport_options("sentinel://:pw@s1:26379;sentinel://:pw@s2:26379", "prod")

    assert options["master_name"] == "prod"
    assert options["sentinel_kwargs"]["password"] == "pw"
    assert broker_transport_options("redis://127.0.0.1:6379/0", "prod") == {}


def test_a_sentinel_client_writes_to_the_current_primary(sentinels):
    client = sync_client(sentinels.url(db=1), master=MASTER, socket_timeout=2)

    client.set("hookline:test:where", "here")

    assert sentinels.node(sentinels.primary_port(), db=1).get("hookline:test:where") == b"here"
    assert client.info("server")["tcp_port"] == sentinels.primary_port()


def test_a_wrong_password_is_refused_by_the_sentinels(sentinels):
    url = sentinels.url().replace(PASSWORD, "wrong")

    with pytest.raises(MasterNotFoundError, match="AuthenticationError"):
        sync_client(url, master=MASTER, socket_timeout=2).ping()


def _until_it_answers(call, *, timeout: float = 30):
    """Call `call` until it stops failing with a connection error (the failover), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_sync_and_asyncio_clients_follow_a_failover(sentinels):
    sync = sync_client(sentinels.url(), master=MASTER, socket_timeout=1, socket_connect_timeout=1)
    sync.set("hookline:test:before", 1)
    loop = asyncio.new_event_loop()
    aclient = async_client(sentinels.url(), master=MASTER, socket_timeout=1, socket_connect_timeout=1)
    loop.run_until_complete(aclient.ping())  # both hold a pooled connection to the old primary
    sentinels.node(sentinels.primary_port()).wait(1, 2000)  # the key is on the replica too
    old = sentinels.kill_primary()
    try:
        new = sentinels.wait_for_failover(old)

        _until_it_answers(lambda: sync.set("hookline:test:after", 2))
        _until_it_answers(lambda: loop.run_until_complete(aclient.set("hookline:test:async", 3)))

        assert sync.info("server")["tcp_port"] == new
        assert loop.run_until_complete(aclient.info("server"))["tcp_port"] == new
        assert sentinels.node(new).mget("hookline:test:before", "hookline:test:after", "hookline:test:async") == [
            b"1", b"2", b"3"]
    finally:
        loop.run_until_complete(aclient.aclose())
        loop.close()
        sentinels.restore(old)
