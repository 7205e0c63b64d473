"""Console users: a JSON file of argon2 password hashes and roles, and the roles' rights.

The file maps a user name to its role and an argon2id hash (argon2-cffi's encoded
form, which carries its own salt and cost parameters):

    {"users": {"ana": {"role": "analyst", "hash": "$argon2id$v=19$m=65536,t=3,p=4$..."}}}

`reviewer` may answer reviews; `analyst` reads only. `add_user` writes the file
(mode 0600, replaced atomically); `UserDirectory.verify` checks a password and
returns the user, spending the same hashing time for an unknown name as for a
known one, so a login does not tell which names exist.

Example:
    >>> from pathlib import Path; import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "users.json"
    >>> add_user(path, "rita", "reviewer", "correct horse battery")
    >>> UserDirectory.load(path).verify("rita", "correct horse battery")
    User(name='rita', role='reviewer')
    >>> UserDirectory.load(path).verify("rita", "wrong") is None
    True

"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["reviewer", "analyst"]
ROLES: tuple[Role, ...] = ("reviewer", "analyst")
# Names appear in the audit trail (`reviewer`): printable, no spaces or markup.
_USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD_CHARS = 12

_HASHER = PasswordHasher()
# Verified against when the name is unknown, so both paths cost one argon2 hash.
_DUMMY_HASH = _HASHER.hash("pitboss console: no such user")


class UsersFileError(ValueError):
    """The users file is missing, unreadable or not in the expected shape; names the file."""


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated console user."""

    name: str
    role: Role

    @property
    def may_decide(self) -> bool:
        """True for reviewers: only they may approve or deny a review."""
        return self.role == "reviewer"


def check_user_name(name: str) -> str:
    """Return `name` if it is a valid user name (letters, digits, `._@-`, at most 64).

    Raises:
        UsersFileError: otherwise.

    """
    if not _USER_NAME.match(name):
        raise UsersFileError(f"user name {name!r}: use 1-64 letters, digits or . _ @ -")
    return name


class UserDirectory:
    """The users of one users file, checked at load."""

    def __init__(self, entries: dict[str, tuple[Role, str]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: Path) -> UserDirectory:
        """Read and check a users file.

        Raises:
            UsersFileError: the file cannot be read or a user entry is malformed.

        """
        return cls(_read(path))

    def __len__(self) -> int:
        return len(self._entries)

    def verify(self, name: str, password: str) -> User | None:
        """Return the user if `password` is theirs, else None (same cost either way)."""
        role, encoded = self._entries.get(name, ("analyst", _DUMMY_HASH))
        try:
            _HASHER.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, role) if name in self._entries else None

    def user(self, name: str) -> User | None:
        """Return the user called `name` if the file still lists them."""
        entry = self._entries.get(name)
        return User(name, entry[0]) if entry else None


def add_user(path: Path, name: str, role: str, password: str) -> None:
    """Add or replace a user in the users file (created if missing, mode 0600).

    Raises:
        UsersFileError: a bad name, role or password, or an existing file that is malformed.

    """
    check_user_name(name)
    if role not in ROLES:
        raise UsersFileError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsersFileError(f"password: use at least {MIN_PASSWORD_CHARS} characters")
    document = _read_document(path) if path.exists() else {"users": {}}
    document["users"][name] = {"role": role, "hash": _HASHER.hash(password)}
    _write_private(path, orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _read_document(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot read the users file: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise UsersFileError(f"{path}: not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("users"), dict):
        raise UsersFileError(f'{path}: expected {{"users": {{name: {{"role", "hash"}}}}}}')
    return document


def _read(path: Path) -> dict[str, tuple[Role, str]]:
    entries: dict[str, tuple[Role, str]] = {}
    for name, entry in _read_document(path)["users"].items():
        where = f"{path}: user {name!r}"
        if not isinstance(entry, dict):
            raise UsersFileError(f"{where}: expected an object with role and hash")
        role, encoded = entry.get("role"), entry.get("hash")
        if role not in ROLES:
            raise UsersFileError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
        if not isinstance(encoded, str) or not encoded.startswith("$argon2"):
            raise UsersFileError(f"{where}: hash is not an argon2 hash")
        check_user_name(name)
        entries[name] = (role, encoded)
    return entries


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data + b"\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
