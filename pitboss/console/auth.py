"""Who is asking, and may they: sessions, the SSO header, CSRF tokens and the login flow.

Sessions are Starlette's signed cookie (itsdangerous): HttpOnly, SameSite=Strict,
Secure when the console is served behind TLS. The session holds the user's name, the
login time and a CSRF token; the role is looked up in the users file on every request,
so removing a user ends their sessions. With `sso_header` set (off by default), an
operator's SSO proxy names the user in that header and the users file gives the role.

Every POST carries the session's CSRF token in a form field, compared in constant
time; a request whose `Origin` or `Sec-Fetch-Site` says it came from another site is
refused before that. Failed logins are throttled (`LoginThrottle`) and logged.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

import structlog
from starlette.datastructures import FormData
from starlette.requests import Request

from pitboss.console.login_throttle import LoginThrottle
from pitboss.console.users import User, UserDirectory

SESSION_USER = "user"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"

_log = structlog.get_logger("pitboss.console")


class Refused(Exception):
    """A request refused: status code and a message for the page."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class Gatekeeper:
    """Authentication and request checks of one console.

    Args:
        users: the users file's directory.
        throttle: failed-login counts.
        sso_header: the header an SSO proxy sets to the user's name; None to ignore it.

    """

    users: UserDirectory
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    sso_header: str | None = None

    def user(self, request: Request) -> User | None:
        """Return the authenticated user of the request, or None."""
        if self.sso_header:
            name = request.headers.get(self.sso_header)
            return self.users.user(name) if name else None
        name = request.session.get(SESSION_USER)
        return self.users.user(name) if isinstance(name, str) else None

    def require(self, request: Request) -> User:
        """Return the user, or refuse with 401 (the page sends them to the login form)."""
        user = self.user(request)
        if user is None:
            raise Refused(401, "log in first")
        return user

    def log_in(self, request: Request, name: str, password: str) -> User | None:
        """Check a login; on success start a fresh session. Throttled and logged."""
        client = request.client.host if request.client else "?"
        if self.throttle.blocked(name, client):
            _log.warning("console login refused: too many failures", user=name, client=client)
            raise Refused(429, "too many failed logins: wait a few minutes")
        user = self.users.verify(name, password)
        if user is None:
            self.throttle.failed(name, client)
            _log.warning("console login failed", user=name, client=client)
            return None
        self.throttle.succeeded(name)
        request.session.clear()  # no session fixation: a new token for the new session
        request.session[SESSION_USER] = user.name
        csrf_token(request)
        _log.info("console login", user=user.name, role=user.role, client=client)
        return user


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, making one if the session has none."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def check_same_site(request: Request) -> None:
    """Refuse (403) a state-changing request that a browser says came from another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise Refused(403, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise Refused(403, "cross-site request refused")


def check_csrf(request: Request, form: FormData) -> None:
    """Refuse (403) a POST without the session's CSRF token, or from another site."""
    check_same_site(request)
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(sent, str) or not isinstance(expected, str) \
            or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Refused(403, "the form's security token is missing or stale: reload the page")


def _own_origin(request: Request) -> str:
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port and url.port != default else ""
    return f"{url.scheme}://{url.hostname}{port}"
