"""Both storage backends: whole objects or nothing, checksums, cleanup after a killed write."""

import hashlib

import pytest

from hookline.integrations.errors import TransientError
from hookline.integrations.storage.local import LocalStorage
from hookline.integrations.storage.s3 import S3Storage
from tests.support.s3 import pending_uploads, s3_server
from tests.support.sources import generated, sha256_of

MIB = 1024 * 1024
KEY = "7/recordings/2026/11/42.m4a"


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        yield server


@pytest.fixture()
def bucket(s3):
    return s3.new_bucket()


@pytest.fixture()
def s3_storage(s3, bucket):
    return S3Storage(s3.client(), bucket, part_size=5 * MIB)


def broken(size, after):
    """A stream that raises after `after` bytes, as a download cut off mid-way does."""
    sent = 0
    for block in generated(size):
        if sent >= after:
            raise TransientError("source broke off")
        sent += len(block)
        yield block


def test_s3_multipart_upload_stores_the_whole_stream_with_its_sha256(s3_storage, s3, bucket):
    size = 12 * MIB + 123  # three parts, the last one short

    stored = s3_storage.write(KEY, generated(size), content_type="audio/mp4")

    assert (stored.key, stored.size, stored.sha256) == (KEY, size, sha256_of(size))
    body = s3.client().get_object(Bucket=bucket, Key=KEY)
    assert body["ContentType"] == "audio/mp4"
    assert hashlib.sha256(body["Body"].read()).hexdigest() == sha256_of(size)


def test_s3_write_that_fails_mid_stream_leaves_no_object_and_no_open_upload(s3_storage, s3, bucket):
    with pytest.raises(TransientError):
        s3_storage.write(KEY, broken(20 * MIB, after=11 * MIB), content_type="audio/mp4")

    assert s3_storage.keys("7/") == []
    assert pending_uploads(s3.client(), bucket) == []


def test_s3_discard_partial_aborts_an_upload_a_killed_worker_left(s3_storage, s3, bucket):
    client = s3.client()
    abandoned = client.create_multipart_upload(Bucket=bucket, Key=KEY)["UploadId"]
    client.upload_part(Bucket=bucket, Key=KEY, UploadId=abandoned, PartNumber=1, Body=b"x" * (5 * MIB))
    other = client.create_multipart_upload(Bucket=bucket, Key=KEY + ".other")["UploadId"]

    assert s3_storage.discard_partial(KEY) == 1

    assert pending_uploads(client, bucket) == [KEY + ".other"]
    client.abort_multipart_upload(Bucket=bucket, Key=KEY + ".other", UploadId=other)


def test_s3_rewriting_a_key_keeps_one_object(s3_storage):
    s3_storage.write(KEY, generated(MIB, seed=1), content_type="audio/mp4")
    second = s3_storage.write(KEY, generated(MIB, seed=2), content_type="audio/mp4")

    assert s3_storage.keys("7/recordings/") == [KEY]
    assert second.sha256 == sha256_of(MIB, seed=2)


def test_local_write_renames_a_complete_file_into_place(tmp_path):
    storage = LocalStorage(tmp_path)

    stored = storage.write(KEY, generated(3 * MIB + 5), content_type="audio/mp4")

    assert stored.sha256 == sha256_of(3 * MIB + 5)
    assert hashlib.sha256((tmp_path / KEY).read_bytes()).hexdigest() == stored.sha256
    assert [p.name for p in (tmp_path / KEY).parent.iterdir()] == ["42.m4a"]


def test_local_write_that_fails_leaves_neither_file_nor_partial(tmp_path):
    storage = LocalStorage(tmp_path)

    with pytest.raises(TransientError):
        storage.write(KEY, broken(5 * MIB, after=2 * MIB), content_type="audio/mp4")

    assert storage.keys("") == []
    assert list((tmp_path / KEY).parent.iterdir()) == []


def test_local_discard_partial_removes_a_killed_writers_temp_file(tmp_path):
    storage = LocalStorage(tmp_path)
    (tmp_path / KEY).parent.mkdir(parents=True)
    (tmp_path / KEY).parent.joinpath(".42.m4a.abc123.part").write_bytes(b"half")

    assert storage.discard_partial(KEY) == 1
    assert list((tmp_path / KEY).parent.iterdir()) == []


def test_local_storage_refuses_a_key_outside_its_directory(tmp_path):
    storage = LocalStorage(tmp_path / "storage")

    with pytest.raises(ValueError, match="leaves the storage directory"):
        storage.write("../escape.m4a", generated(10), content_type="audio/mp4")


def test_settings_choose_the_backend_and_s3_needs_a_bucket(monkeypatch, tmp_path):
    from hookline.config import ConfigError, Settings, load_settings
    from hookline.integrations.storage import make_storage

    monkeypatch.setenv("HOOKLINE_STORAGE_BACKEND", "s3")
    monkeypatch.delenv("HOOKLINE_S3_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="HOOKLINE_STORAGE_BACKEND=s3 needs HOOKLINE_S3_BUCKET"):
        load_settings()

    local = make_storage(Settings(storage_backend="local", var_dir=tmp_path))
    s3 = make_storage(Settings(storage_backend="s3", s3_bucket="recs", s3_endpoint_url="http://127.0.0.1:1",
                               s3_region="auto", s3_part_size_mb=16))
    assert (type(local).__name__, local.root) == ("LocalStorage", (tmp_path / "storage").resolve())
    assert (type(s3).__name__, s3.bucket, s3.part_size) == ("S3Storage", "recs", 16 * MIB)


def test_a_link_for_people_names_the_configured_base_else_the_stores_own_address(tmp_path):
    from hookline.config import Settings
    from hookline.integrations.storage import link

    based = Settings(storage_backend="s3", s3_bucket="recs", recording_link_base="https://rec.example.com/files/")
    s3 = Settings(storage_backend="s3", s3_bucket="recs")
    local = Settings(storage_backend="local", var_dir=tmp_path)

    assert link(based, KEY) == f"https://rec.example.com/files/{KEY}"
    assert link(s3, KEY) == f"s3://recs/{KEY}"
    assert link(local, KEY) == f"file://{(tmp_path / 'storage' / KEY).resolve()}"
