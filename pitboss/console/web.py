"""The console's web application: routes, templates, sessions and security headers.

`build_app(console)` returns a Starlette application. Pages are rendered on the
server by Jinja2 with autoescaping on for every template, so player ids (any
Unicode, from outside) are text, never markup; a strict Content-Security-Policy
allows only the console's own script and style files, so even markup that slipped
through could not run. No page is served without a login; the only state-changing
requests (login, logout, verdict) are POSTs checked for the session's CSRF token.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pitboss.console import explain
from pitboss.console.auth import (
    CSRF_FIELD,
    SESSION_CSRF,
    Gatekeeper,
    Refused,
    check_csrf,
    csrf_token,
)
from pitboss.console.cases import CaseBook, CaseState
from pitboss.console.charts import small_multiples, time_chart
from pitboss.console.row_groups import GROUPED_STATUSES, group_rows
from pitboss.console.store import TIMELINE_FEATURES, PlayerStory, QueueFilter
from pitboss.console.verdicts import VerdictDesk, VerdictRefused
from pitboss.operators.event_time import rfc3339_ms
from pitboss.sinks.kafka_actions import ActionDeliveryError

HERE = Path(__file__).parent
SESSION_MAX_AGE_S = 8 * 3600
MAX_PAGE = 10_000
TABLE_LINES = 60
"""Lines of a player's decisions table shown at first (the latest); `?rows=all` shows all."""
_DECISION_ID = re.compile(r"^[0-9a-f]{32}$")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class Console:
    """What one console serves: its cases, who may use it, and the verdict desk if live."""

    book: CaseBook
    gate: Gatekeeper
    desk: VerdictDesk | None
    secret_key: str = ""
    https_only: bool = False
    demo_note: str = ""


def build_app(console: Console) -> Starlette:
    """Return the console's ASGI application."""
    templates = _templates()
    pages = _Pages(console, templates)
    routes = [
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/", pages.queue),
        Route("/case/{decision_id}", pages.case),
        Route("/case/{decision_id}/status", pages.case_status),
        Route("/case/{decision_id}/verdict", pages.verdict, methods=["POST"]),
        Route("/decision/{decision_id}", pages.decision),
        Route("/player", pages.player),
        Route("/player/latest", pages.latest_features),
        Route("/search", pages.search),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/healthz", lambda request: Response("ok\n", media_type="text/plain")),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=console.secret_key or secrets.token_hex(32),
                   session_cookie="pitboss_console", max_age=SESSION_MAX_AGE_S,
                   same_site="strict", https_only=console.https_only),
    ]  # fmt: skip
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={Refused: pages.refused})  # fmt: skip
    return app


def _templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
    )  # fmt: skip
    environment.filters["when"] = _when
    environment.filters["when_text"] = _when_text
    environment.filters["num"] = _num
    environment.filters["q"] = lambda text: quote(str(text), safe="")
    environment.globals["status_meaning"] = explain.status_meaning
    environment.globals["rule_meaning"] = explain.rule_meaning
    return Jinja2Templates(env=environment)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else ""


def _when_text(text: object) -> str:
    """Show an RFC 3339 time read off a topic like the store's times (else as it came)."""
    at_ms = rfc3339_ms(text) if isinstance(text, str) else None
    return str(text) if at_ms is None else _when(datetime.fromtimestamp(at_ms / 1000, UTC))


def _num(value: Any, digits: int = 2) -> str:
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _age(at: datetime, now: datetime | None) -> str:
    """Return how long before `now` a review was raised: minutes, hours or days.

    Example:
        >>> from datetime import UTC, datetime, timedelta
        >>> now = datetime(2026, 1, 5, tzinfo=UTC)
        >>> [_age(now - timedelta(minutes=m), now) for m in (0.2, 90, 4000)]
        ['0 min', '1.5 h', '2.8 d']

    """
    if now is None:
        return ""
    minutes = max((now - at).total_seconds(), 0) / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


class _Pages:
    """Request handlers; blocking store reads run in Starlette's thread pool."""

    def __init__(self, console: Console, templates: Jinja2Templates) -> None:
        self.console = console
        self.templates = templates

    def render(self, request: Request, name: str, status_code: int = 200,
               mint_csrf: bool = True, **context: Any) -> Response:
        """Render a template; `mint_csrf=False` never starts a session (refusals)."""
        gate = self.console.gate
        token = csrf_token(request) if mint_csrf else request.session.get(SESSION_CSRF, "")
        base = {"user": gate.user(request), "csrf_field": CSRF_FIELD, "csrf": token,
                "live": self.console.desk is not None, "demo_note": self.console.demo_note,
                "sso": gate.sso_header is not None}  # fmt: skip
        return self.templates.TemplateResponse(request, name, {**base, **context},
                                               status_code=status_code)

    async def refused(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        sso = self.console.gate.sso_header
        if exc.status_code == 401 and request.method == "GET" and sso is None:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if exc.status_code == 401 and sso is not None:
            exc = Refused(401, f"no signed-in user: this console takes the user from the {sso} "
                          "header its single sign-on proxy sets (and a role from the users "
                          "file); sign in through the proxy")  # fmt: skip
        # A refused request must not touch the session: a cross-site request that got
        # a fresh session cookie back would log the user out.
        return self.render(request, "error.html", status_code=exc.status_code,
                           mint_csrf=False, message=exc.message)

    # Login and logout -------------------------------------------------------------
    def login_form(self, request: Request) -> Response:
        self._no_passwords_with_sso()
        return self.render(request, "login.html", error="", next=_local(request, "next"))

    def _no_passwords_with_sso(self) -> None:
        sso = self.console.gate.sso_header
        if sso is not None:
            raise Refused(403, f"password logins are off: this console signs users in "
                          f"through single sign-on (the {sso} header)")  # fmt: skip

    async def login(self, request: Request) -> Response:
        self._no_passwords_with_sso()
        form = await request.form()
        check_csrf(request, form)
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        user = await run_in_threadpool(self.console.gate.log_in, request, name, password)
        if user is None:
            return self.render(request, "login.html", status_code=401,
                               error="wrong user name or password", next="/")
        return RedirectResponse(_local_path(str(form.get("next", "/"))), status_code=303)

    async def logout(self, request: Request) -> Response:
        check_csrf(request, await request.form())
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # Pages -------------------------------------------------------------------------
    def queue(self, request: Request) -> Response:
        self.console.gate.require(request)
        params = request.query_params
        wanted = QueueFilter(action=params.get("action", ""),
                             jurisdiction=params.get("jurisdiction", ""),
                             severity=params.get("severity", ""),
                             player=params.get("player", ""),
                             sort=params.get("sort", "oldest"))  # fmt: skip
        queue = self.console.book.queue(wanted, _page(params.get("page", "")))
        ages = {r.decision_id: _age(r.decided_at, queue.as_of) for r in queue.reviews}
        return self.render(request, "queue.html", queue=queue, wanted=wanted, ages=ages,
                           page_link=_page_link(request))

    def case(self, request: Request) -> Response:
        user = self.console.gate.require(request)
        decision_id = _decision_id(request)
        case = self.console.book.case(decision_id)
        if case is None:
            raise Refused(404, "no review with this decision id")
        context = self._story_context(case.review.player_id, case.story, _all_rows(request))
        state = self._with_sent(case.state, decision_id)
        may_decide = (self.console.desk is not None and user.may_decide and state.is_open)
        return self.render(request, "case.html", review=case.review, state=state,
                           may_decide=may_decide, flash=request.query_params.get("sent", ""),
                           **context)  # fmt: skip

    def case_status(self, request: Request) -> Response:
        self.console.gate.require(request)
        decision_id = _decision_id(request)
        state = self._with_sent(self.console.book.state(decision_id), decision_id)
        return JSONResponse({"status": state.status, "finalised": len(state.finalised)})

    def _with_sent(self, state: CaseState, decision_id: str) -> CaseState:
        """Count a verdict this console delivered that the feed has not read yet."""
        desk = self.console.desk
        sent = desk.sent_for(decision_id) if desk is not None and state.is_open else None
        if sent is None:
            return state
        return replace(state, status=f"{sent.verdict} sent", reviewer=sent.reviewer)

    async def verdict(self, request: Request) -> Response:
        user = self.console.gate.require(request)
        form = await request.form()
        check_csrf(request, form)
        decision_id = _decision_id(request)
        if self.console.desk is None:
            raise Refused(403, "this console is read-only (a replay's store): no verdicts")
        if not user.may_decide:
            raise Refused(403, f"{user.name} is an analyst: only reviewers may decide")
        book = self.console.book
        review = await run_in_threadpool(book.review, decision_id)
        if review is None:
            raise Refused(404, "no review with this decision id")
        state = self._with_sent(await run_in_threadpool(book.state, decision_id), decision_id)
        if not state.is_open:
            raise Refused(409, f"this review is already answered ({state.status})")
        verdict, note = str(form.get("verdict", "")), str(form.get("note", ""))
        try:
            await run_in_threadpool(self.console.desk.decide, review, verdict, user, note)
        except (VerdictRefused, ActionDeliveryError) as exc:
            code = 400 if isinstance(exc, VerdictRefused) else 502
            context = await run_in_threadpool(self._story_context, review.player_id)
            return self.render(request, "case.html", status_code=code, review=review,
                               state=state, may_decide=True, flash="", error=str(exc),
                               note=note, **context)  # fmt: skip
        return RedirectResponse(f"/case/{decision_id}?sent={verdict}", status_code=303)

    def decision(self, request: Request) -> Response:
        self.console.gate.require(request)
        decision_id = _decision_id(request)
        store = self.console.book.store
        rows = store.decision_rows(decision_id) if store is not None else []
        if not rows:
            raise Refused(404, "no decision with this id in the store")
        return self.render(request, "decision.html", decision_id=decision_id, rows=rows)

    def player(self, request: Request) -> Response:
        self.console.gate.require(request)
        player_id = request.query_params.get("id", "")
        if not player_id:
            raise Refused(400, "which player? (?id=...)")
        return self.render(request, "player.html",
                           **self._story_context(player_id, None, _all_rows(request)))

    def latest_features(self, request: Request) -> Response:
        """Render the player's newest feature snapshot: a fragment the case page loads."""
        self.console.gate.require(request)
        store = self.console.book.store
        player_id = request.query_params.get("id", "")
        features = store.latest_features(player_id) if store is not None and player_id else {}
        return self.render(request, "_latest.html", features=features)

    def search(self, request: Request) -> Response:
        self.console.gate.require(request)
        text = request.query_params.get("q", "").strip()
        if _DECISION_ID.match(text):
            return RedirectResponse(f"/decision/{text}", status_code=303)
        store = self.console.book.store
        found = store.find_players(text) if text and store is not None else []
        return self.render(request, "search.html", q=text, found=found)

    def _story_context(self, player_id: str, story: PlayerStory | None = None,
                       all_rows: bool = False) -> dict[str, Any]:
        book = self.console.book
        story = story if story is not None else book.story(player_id)
        charts = []
        if story is not None and (story.features or story.scores):
            times = [t for t, _ in story.features] + [t for t, _ in story.scores]
            start, end = min(times), max(times)
            marks = [(row["decided_at"], f"{row['action']} ({row['status']})", row["status"])
                     for row in story.decisions
                     if row["status"] not in GROUPED_STATUSES]  # fmt: skip
            charts = [
                time_chart("Scores (0 to 1)", start, end,
                           [(k, [(t, v[k]) for t, v in story.scores])
                            for k in ("risk", "fraud", "churn")], marks, fixed_range=(0.0, 1.0)),
                *small_multiples("Play", start, end,
                                 [(k, [(t, v[k]) for t, v in story.features])
                                  for k in TIMELINE_FEATURES], marks),
            ]  # fmt: skip
        groups = group_rows(story.decisions) if story is not None else []
        hidden = 0 if all_rows else max(len(groups) - TABLE_LINES, 0)
        return {"player_id": player_id, "story": story, "charts": charts,
                "decision_groups": groups[hidden:], "hidden_lines": hidden,
                "live_actions": book.live_actions(player_id)}


def _all_rows(request: Request) -> bool:
    """Whether the page is asked for every line of the decisions table (`?rows=all`)."""
    return request.query_params.get("rows") == "all"


def _page(text: str) -> int:
    """Return the queue's page number from the query string (0 when absent or odd)."""
    return min(int(text), MAX_PAGE) if text.isdigit() else 0


def _page_link(request: Request) -> Callable[[int], str]:
    """Return a function giving the queue's URL for a page, the filters kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return lambda page: "/?" + urlencode([*kept, ("page", str(page))])


def _decision_id(request: Request) -> str:
    decision_id = str(request.path_params["decision_id"])
    if not _DECISION_ID.match(decision_id):
        raise Refused(404, "not a decision id")
    return decision_id


def _local(request: Request, name: str) -> str:
    return _local_path(request.query_params.get(name, "/"))


def _local_path(path: str) -> str:
    """Return `path` if it is a path on this site (no open redirect), else `/`."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path \
        else "/"


class _SecurityHeaders:
    """Add the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
            await send(message)

        await self.app(scope, receive, send_with_headers)
