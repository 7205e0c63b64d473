import stat
from pathlib import Path

import pytest

from pitboss.console.users import UserDirectory, UsersFileError, add_user


def test_added_users_verify_with_their_password_and_role(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    add_user(path, "rita", "reviewer", "reviewer-password")
    add_user(path, "ana", "analyst", "analyst-password")
    users = UserDirectory.load(path)
    rita = users.verify("rita", "reviewer-password")
    ana = users.verify("ana", "analyst-password")
    assert rita is not None and rita.may_decide
    assert ana is not None and not ana.may_decide
    assert users.verify("rita", "analyst-password") is None
    assert users.verify("nobody", "reviewer-password") is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"reviewer-password" not in path.read_bytes()


def test_replacing_a_user_changes_password_and_role(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    add_user(path, "rita", "reviewer", "first-password-1")
    add_user(path, "rita", "analyst", "second-password-2")
    users = UserDirectory.load(path)
    assert users.verify("rita", "first-password-1") is None
    assert users.verify("rita", "second-password-2").role == "analyst"  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "role", "password"), [
    ("rita", "admin", "long-enough-password"),
    ("<b>rita</b>", "reviewer", "long-enough-password"),
    ("rita", "reviewer", "short"),
])
def test_bad_users_are_refused(tmp_path: Path, name: str, role: str, password: str) -> None:
    with pytest.raises(UsersFileError):
        add_user(tmp_path / "users.json", name, role, password)


@pytest.mark.parametrize("content", [
    b"not json", b"[]", b'{"users": {"rita": {"role": "root", "hash": "$argon2id$x"}}}',
    b'{"users": {"rita": {"role": "reviewer", "hash": "plain"}}}',
])
def test_malformed_users_files_name_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "users.json"
    path.write_bytes(content)
    with pytest.raises(UsersFileError, match=r"users\.json"):
        UserDirectory.load(path)
