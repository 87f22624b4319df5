"""Console users from settings, and `hookline console hash-password`."""

import pytest

from hookline.console.users import authenticate, parse_users
from tests.support.cli import hookline


def test_a_printed_hash_signs_its_user_in_and_nobody_else():
    printed = hookline("console", "hash-password", input="long enough pw\nlong enough pw\n")
    assert printed.returncode == 0, printed.stderr
    digest = printed.stdout.strip().splitlines()[-1]

    users = parse_users(f"alice:viewer:{digest},bob:operator:{digest}")  # argon2 hashes hold commas too

    assert digest.startswith("$argon2id$") and "long enough pw" not in printed.stdout
    assert [(user.name, user.role, user.may_act) for user in users.values()] == [("alice", "viewer", False),
                                                                                ("bob", "operator", True)]
    assert authenticate(users, "bob", "long enough pw") is users["bob"]
    assert authenticate(users, "bob", "long enough pW") is None
    assert authenticate(users, "carol", "long enough pw") is None


@pytest.mark.parametrize("value", ["alice:admin:$argon2id$x", "alice:viewer:plaintext", "alice:viewer",
                                   "alice:viewer:$argon2id$x,alice:operator:$argon2id$y"])
def test_a_bad_users_setting_is_named_without_its_hashes(value):
    result = hookline("console", env={"HOOKLINE_CONSOLE_USERS": value})

    assert result.returncode == 1
    assert "HOOKLINE_CONSOLE_USERS" in result.stderr and "$argon2id$" not in result.stderr


def test_the_console_will_not_start_without_users():
    result = hookline("console", env={"HOOKLINE_CONSOLE_USERS": ""})

    assert result.returncode == 1
    assert "HOOKLINE_CONSOLE_USERS is not set" in result.stderr
