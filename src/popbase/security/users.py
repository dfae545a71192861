"""API users: a name, a role, a scope, an Argon2id password hash and a credential, in JSON.

``popbase users add|list|remove|passwd|revoke PROJECT …`` manage the file (``access.users`` in
the project file; ``users.json`` beside it by default). Passwords are never stored, only
their Argon2id hashes (argon2-cffi's defaults: RFC 9106's second recommended setting).
The API re-reads the file when it changes, so removing a user or changing a role takes
effect on their next request, whatever tokens they hold. The credential is a random
value drawn when a user is added, given a new password or revoked; every token carries
the credential it was issued under (:mod:`popbase.security.tokens`), so each of these
ends the tokens issued before, and a user removed and added again does not get the old
tokens back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from popbase.errors import PopbaseError
from popbase.security.access import Role, Roles, scope_fits

HASHER = PasswordHasher()  # RFC 9106's second recommended setting
# Checked when a user is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash("popbase: no such user")


def hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    """Argon2id with the given cost."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


class UserError(PopbaseError, ValueError):
    """A user cannot be added or changed as asked; the message says why and the fix."""


@dataclass(frozen=True)
class User:
    """One API user."""

    name: str
    role: str
    scope: str
    password_hash: str
    created: str
    # Random, drawn anew by add, passwd and revoke; a file written before it had none.
    credential: str = ""

    def as_dict(self) -> dict[str, str]:
        """The user as written to the users file."""
        return {
            "name": self.name,
            "role": self.role,
            "scope": self.scope,
            "password_hash": self.password_hash,
            "created": self.created,
            "credential": self.credential,
        }


def new_credential() -> str:
    """A fresh random credential (128 bits, hexadecimal)."""
    return secrets.token_hex(16)


def check_password(password: str) -> None:
    """Refuse passwords shorter than ten characters.

    >>> check_password("short")
    Traceback (most recent call last):
    ...
    popbase.security.users.UserError: the password has 5 characters; use at least 10
    """
    if len(password) < 10:
        raise UserError(f"the password has {len(password)} characters; use at least 10")


class UserStore:
    """The users file: read on change, written atomically.

    Parameters
    ----------
    path
        The JSON file (created on the first ``add``).
    roles
        The roles users may have.
    hasher
        Argon2id with the cost of new hashes (a stored hash keeps its own cost).
    """

    def __init__(self, path: Path, roles: Roles, hasher: PasswordHasher = HASHER) -> None:
        self.path = Path(path)
        self.roles = roles
        self.hasher = hasher
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._users: dict[str, User] = {}

    def users(self) -> dict[str, User]:
        """All users by name, re-read when the file has changed."""
        return dict(self._current())

    def get(self, name: str) -> User | None:
        """One user as the file holds it now, or None (what every request checks)."""
        return self._current().get(name)

    def _current(self) -> dict[str, User]:
        with self._lock:
            try:
                stamp: int | None = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp:
                self._users = self._read()
                self._stamp = stamp
            return self._users

    def _read(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        return {u["name"]: User(**u) for u in data.get("users", [])}

    def _write(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"users": [u.as_dict() for u in sorted(users.values(), key=lambda u: u.name)]},
            ensure_ascii=False,
            indent=1,
        )
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)  # hashes are not passwords, but need not be public either
        os.replace(tmp, self.path)

    def role_of(self, user: User) -> Role | None:
        """The user's role, or None if the roles no longer define it."""
        return self.roles.get(user.role)

    def add(self, name: str, role: str, scope: str, password: str) -> User:
        """Add a user; refuse a taken name, an unknown role or a scope unfit for the role."""
        the_role = self.roles.get(role)
        if the_role is None:
            known = ", ".join(r.id for r in self.roles.roles)
            raise UserError(f"no role {role!r}; the roles are: {known}")
        if not scope_fits(the_role.level, scope):
            raise UserError(
                f"scope {scope!r} is not a {the_role.level} division code; role {role!r} "
                f"serves a {the_role.level} (e.g. 3101 for a city, 310112 for a district, "
                "310112001 for a street, 310112001001 for a committee)"
            )
        if not name or not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
            raise UserError(f"user name {name!r}: use letters, digits, '.', '-' and '_'")
        check_password(password)
        users = self.users()
        if name in users:
            raise UserError(f"user {name!r} exists; remove it first or use `popbase users passwd`")
        user = User(
            name=name,
            role=role,
            scope=scope,
            password_hash=self.hasher.hash(password),
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            credential=new_credential(),
        )
        users[name] = user
        self._write(users)
        return user

    def remove(self, name: str) -> None:
        """Remove a user; their tokens stop working at once."""
        users = self.users()
        if name not in users:
            raise UserError(f"no user {name!r}")
        del users[name]
        self._write(users)

    def set_password(self, name: str, password: str) -> None:
        """Give a user a new password."""
        users = self.users()
        if name not in users:
            raise UserError(f"no user {name!r}")
        check_password(password)
        users[name] = dataclasses.replace(
            users[name], password_hash=self.hasher.hash(password), credential=new_credential()
        )
        self._write(users)

    def revoke(self, name: str) -> None:
        """End every token of a user at once; the password stays."""
        users = self.users()
        if name not in users:
            raise UserError(f"no user {name!r}")
        users[name] = dataclasses.replace(users[name], credential=new_credential())
        self._write(users)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user whose name and password these are, or None (in the same time either way)."""
        user = self.users().get(name)
        try:
            self.hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user
