"""The Docker Hub API client: every repository of a namespace, and every tag of a repository.

The catalog needs two listings the registry protocol cannot give: the repositories of
``library`` (with descriptions, pull counts and categories) and each repository's tags with
their index digests and per-platform images (so resolving a tag costs no registry pull).

Endpoints (Docker Hub API "2-beta", https://docs.docker.com/reference/api/hub/latest/):

- ``GET /v2/namespaces/{ns}/repositories?page_size=100`` and
  ``GET /v2/namespaces/{ns}/repositories/{name}/tags?page_size=100&ordering=last_updated``
  (newest first, so a listing cut after one page still has the current tags): pages of
  ``{"count", "next", "previous", "results"}``. ``next`` is an absolute URL; it is followed
  only while it stays on the origin of the configured Hub URL, so a bad or hostile answer
  cannot send our requests (and our bearer token) to another host.
- ``POST /v2/auth/token`` with ``{"identifier": username, "secret": personal access token}``
  answers ``{"access_token": JWT}``, valid for about ten minutes. It replaces the deprecated
  ``POST /v2/users/login`` (``{"username", "password"}`` -> ``{"token"}``), which is used
  only when the new endpoint answers 404 (an older or mirrored Hub). The token comes from
  ``DOCKERHUB_USERNAME`` / ``DOCKERHUB_TOKEN``; without them the client is anonymous, which
  is enough for public repositories but gets a lower rate limit.

Answers are untrusted input. Each page is validated with Pydantic models that ignore
unknown fields (the Hub adds fields over time) but are strict about the types the catalog
relies on: a page that is not JSON or lacks ``results`` fails with ``HubError`` naming the
URL, while one malformed result is skipped and its reason kept in ``HubClient.skipped`` so
one odd repository cannot stop a run (the pip-audit "skipped with a reason" pattern).

Rate limits: the Hub sends ``X-RateLimit-Limit/Remaining/Reset`` on every answer. When the
quota is used up the client waits for the reset only if the run's ``WaitBudget`` allows,
otherwise it raises ``RateLimitedError`` saying when to come back. 429 and 5xx answers are
retried by ``imagetrust.http.send_with_retries`` under the same budget.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import httpx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from imagetrust.catalog.models import CatalogError, HubRepository, HubTag, HubTagImage
from imagetrust.errors import ConfigError
from imagetrust.http import (
    HttpError,
    RateLimitedError,
    RateLimitInfo,
    RetryPolicy,
    WaitBudget,
    build_client,
    parse_rate_limit,
    send_with_retries,
)

if TYPE_CHECKING:
    from imagetrust.config import Settings

log = logging.getLogger(__name__)

DEFAULT_HUB_URL = "https://hub.docker.com"
DEFAULT_NAMESPACE = "library"
PAGE_SIZE = 100  # the Hub's maximum
DEFAULT_MAX_WAIT = 300.0  # seconds, as [http] max_wait, for a client built without a budget
# The Hub UI's "newest" order; it is also the default, but a listing cut short after its
# first page must be sure to hold the most recently pushed tags.
TAG_ORDERING = {"ordering": "last_updated"}
USERNAME_ENV = "DOCKERHUB_USERNAME"
TOKEN_ENV = "DOCKERHUB_TOKEN"  # noqa: S105 - the variable's name, not a secret
TOKEN_PATH = "/v2/auth/token"  # noqa: S105 - an endpoint path
LEGACY_LOGIN_PATH = "/v2/users/login"
# Access tokens live about ten minutes; renew a little earlier than that.
TOKEN_RENEW_AFTER = timedelta(minutes=8)
# One second of slack past X-RateLimit-Reset, which has one-second resolution.
RESET_SLACK_SECONDS = 1.0

_NAME = re.compile(r"^[a-z0-9]+(?:[._-]+[a-z0-9]+)*$")
_DIGEST = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
_TAG = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$"
_STATUS_WORDS = {1: "active"}  # the list endpoint's numeric status, as status_description reads


class HubError(CatalogError):
    """The Hub answered something unusable: an error status, bad JSON or a malformed page."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


# --- credentials ------------------------------------------------------------------------


class Secret:
    """A string that does not show itself: ``repr``/``str`` print ``***``.

    Tokens end up in objects that get logged or shown in tracebacks (``--debug``); wrapping
    them means no code path has to remember not to print them.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled, so it cannot end up on disk by accident")


@dataclass(frozen=True)
class HubCredentials:
    """A Docker Hub username and personal access token (never a config setting)."""

    username: str
    token: Secret

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubCredentials | None:
        """Both variables, or neither (anonymous); one without the other is a usage error."""
        env = os.environ if environ is None else environ
        username = env.get(USERNAME_ENV, "").strip()
        token = env.get(TOKEN_ENV, "").strip()
        if not username and not token:
            return None
        if not username or not token:
            missing = USERNAME_ENV if not username else TOKEN_ENV
            raise ConfigError(
                f"{missing} is not set: Docker Hub credentials need both "
                f"{USERNAME_ENV} and {TOKEN_ENV} (unset both to use the Hub anonymously)"
            )
        return cls(username, Secret(token))


# --- the answers, validated at the boundary ---------------------------------------------


def _timestamp(value: object) -> datetime | None:
    """ISO 8601 text to an aware UTC datetime; the Hub writes ``...Z`` with 5-6 digit µs."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _blank_to_none(value: object) -> object:
    return None if value == "" else value


Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
Count = Annotated[StrictInt, Field(ge=0)]
Digest = Annotated[StrictStr | None, BeforeValidator(_blank_to_none), Field(pattern=_DIGEST)]
Name = Annotated[StrictStr, Field(pattern=_NAME.pattern, max_length=255)]
TagName = Annotated[StrictStr, Field(pattern=_TAG)]
OptionalText = Annotated[StrictStr | None, BeforeValidator(_blank_to_none)]


class _HubModel(BaseModel):
    """Unknown fields are ignored: the Hub adds fields, and we only keep what we use."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _Category(_HubModel):
    name: StrictStr | None = None
    slug: StrictStr


class _Repository(_HubModel):
    name: Name
    namespace: StrictStr
    repository_type: StrictStr | None = None
    status: StrictInt | StrictStr | None = None
    status_description: OptionalText = None
    description: StrictStr | None = None
    is_private: StrictBool = False
    star_count: Count | None = None
    pull_count: Count | None = None
    last_updated: Timestamp = None
    date_registered: Timestamp = None
    categories: list[_Category] | None = None

    def status_word(self) -> str | None:
        """The list endpoint sends ``status: 1`` with ``status_description: "active"``."""
        if self.status_description is not None:
            return self.status_description
        if self.status is None or isinstance(self.status, str):
            return self.status
        return _STATUS_WORDS.get(self.status, str(self.status))

    def to_model(self) -> HubRepository:
        return HubRepository(
            namespace=self.namespace,
            name=self.name,
            description=self.description,
            star_count=self.star_count,
            pull_count=self.pull_count,
            last_updated=self.last_updated,
            date_registered=self.date_registered,
            status=self.status_word(),
            categories=tuple(category.slug for category in self.categories or ()),
        )


class _TagImage(_HubModel):
    architecture: OptionalText = None
    os: OptionalText = None
    variant: OptionalText = None
    digest: Digest = None
    size: Count | None = None
    status: OptionalText = None
    last_pushed: Timestamp = None

    def to_model(self) -> HubTagImage:
        return HubTagImage(
            architecture=self.architecture,
            os=self.os,
            variant=self.variant,
            digest=self.digest,
            size=self.size,
            status=self.status,
            last_pushed=self.last_pushed,
        )


class _Tag(_HubModel):
    name: TagName
    digest: Digest = None
    last_updated: Timestamp = None
    tag_last_pushed: Timestamp = None
    tag_status: OptionalText = None
    full_size: Count | None = None
    images: list[_TagImage] | None = None

    def to_model(self) -> HubTag:
        return HubTag(
            name=self.name,
            digest=self.digest,
            last_updated=self.last_updated,
            tag_last_pushed=self.tag_last_pushed,
            tag_status=self.tag_status,
            images=tuple(image.to_model() for image in self.images or ()),
            full_size=self.full_size,
        )


class _Page(_HubModel):
    count: Count | None = None
    next: OptionalText = None
    previous: OptionalText = None
    results: list[Any]


T = TypeVar("T")


@dataclass(frozen=True)
class SkippedResult:
    """One result left out of a listing, and why; the run records it as an item error."""

    url: str
    index: int
    name: str | None  # the result's ``name`` when it had a readable one
    reason: str

    def __str__(self) -> str:
        label = repr(self.name) if self.name is not None else "unnamed"
        return f"{self.url}: result {self.index} ({label}) skipped: {self.reason}"


@dataclass(frozen=True)
class HubPage(Generic[T]):
    """One validated page: the good results, and why any others were skipped."""

    items: tuple[T, ...]
    skipped: tuple[SkippedResult, ...]
    next_url: str | None
    count: int | None
    size: int  # results on the page, skipped ones included


def _first_error(exc: ValidationError) -> str:
    """The first problem, by field path; never the offending value, which is untrusted."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "result"
    return f"{where}: {error['msg']}"


def _name_of(raw: object) -> str | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name[:80] if isinstance(name, str) else None


def _parse_page(
    data: object, url: str, convert: Callable[[Mapping[str, Any]], T], expect_namespace: str | None
) -> HubPage[T]:
    try:
        page = _Page.model_validate(data)
    except ValidationError as exc:
        problem = _first_error(exc)
        raise HubError(f"{url}: not a Docker Hub result page ({problem})", url=url) from None
    items: list[T] = []
    skipped: list[SkippedResult] = []
    for index, raw in enumerate(page.results):
        reason: str | None = None
        if not isinstance(raw, dict):
            reason = "not an object"
        elif expect_namespace is not None and raw.get("namespace") != expect_namespace:
            reason = f"namespace is not {expect_namespace!r}"
        else:
            try:
                items.append(convert(raw))
            except ValidationError as exc:
                reason = _first_error(exc)
        if reason is not None:
            skipped.append(SkippedResult(url, index, _name_of(raw), reason))
    return HubPage(tuple(items), tuple(skipped), page.next, page.count, len(page.results))


def parse_repositories_page(
    data: object, url: str, namespace: str | None = None
) -> HubPage[HubRepository]:
    """Validate one decoded page of the repositories listing (also used for recordings).

    With ``namespace``, results from any other namespace are skipped: the listing of
    ``library`` must not smuggle in a look-alike from elsewhere.
    """
    return _parse_page(data, url, lambda raw: _Repository.model_validate(raw).to_model(), namespace)


def parse_tags_page(data: object, url: str) -> HubPage[HubTag]:
    """Validate one decoded page of a repository's tags listing (also used for recordings)."""
    return _parse_page(data, url, lambda raw: _Tag.model_validate(raw).to_model(), None)


# --- the client -------------------------------------------------------------------------


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _check_name(kind: str, value: str) -> str:
    if not _NAME.fullmatch(value) or len(value) > 255:
        raise ConfigError(f"not a valid Docker Hub {kind} name: {value[:80]!r}")
    return value


@dataclass(frozen=True)
class TagListing:
    """A repository's tags as read, with the Hub's total (``count``) for the whole listing."""

    name: str
    tags: tuple[HubTag, ...]
    count: int | None
    complete: bool  # every page was read, not only the first ``max_pages``


@dataclass
class _Cursor:
    """How far one listing got: pages read, the Hub's ``count``, whether it ran to the end."""

    pages: int = 0
    count: int | None = None
    complete: bool = False


OnPage = Callable[[int, int | None], None]
"""Progress: results seen so far (skipped ones included) and the Hub's ``count``, if any."""


@dataclass
class _Session:
    """The bearer token and when it was issued; ``repr`` never shows the token."""

    token: Secret | None = None
    issued: datetime | None = None
    endpoint: str = TOKEN_PATH


class HubClient:
    """Lists a namespace's repositories and a repository's tags from the Docker Hub API.

    ``http`` is an httpx client from ``imagetrust.http.build_client`` (timeouts, proxy, CA
    bundle); ``budget`` is the run's shared ``WaitBudget``. ``sleep`` and ``now`` exist so
    tests can run the retry and rate-limit paths without waiting. After a listing,
    ``rate_limit`` holds the last quota the Hub reported and ``skipped`` the reasons for
    every result that was left out.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str = DEFAULT_HUB_URL,
        namespace: str = DEFAULT_NAMESPACE,
        policy: RetryPolicy | None = None,
        budget: WaitBudget | None = None,
        credentials: HubCredentials | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        page_size: int = PAGE_SIZE,
        owns_http: bool = False,
    ) -> None:
        self._base = self._check_base_url(base_url)
        self.namespace = _check_name("namespace", namespace)
        self._http = http
        self._policy = policy or RetryPolicy()
        self._budget = budget if budget is not None else WaitBudget(DEFAULT_MAX_WAIT)
        self._credentials = credentials
        self._sleep = sleep
        self._now = now
        self._page_size = max(1, min(PAGE_SIZE, page_size))
        self._owns_http = owns_http
        self._session = _Session()
        self._waited_for: datetime | None = None
        self.rate_limit: RateLimitInfo | None = None
        self.skipped: list[SkippedResult] = []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        budget: WaitBudget,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> HubClient:
        """The client a command uses: ``[hub]`` and ``[http]`` settings, credentials from env."""
        return cls(
            build_client(settings.http),
            base_url=settings.hub.url,
            namespace=settings.hub.namespace,
            policy=RetryPolicy.from_settings(settings.http),
            budget=budget,
            credentials=HubCredentials.from_env(environ),
            sleep=sleep,
            owns_http=True,
        )

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        who = f"user {self._credentials.username!r}" if self._credentials else "anonymous"
        return f"HubClient({str(self._base)!r}, namespace={self.namespace!r}, {who})"

    @property
    def authenticated(self) -> bool:
        return self._credentials is not None

    # --- public listings ----------------------------------------------------------------

    def iter_repositories(self, on_page: OnPage | None = None) -> Iterator[HubRepository]:
        """Every repository of the namespace, page by page as the Hub lists them."""
        url = self._url(f"/v2/namespaces/{self.namespace}/repositories")
        yield from self._paginate(
            url,
            lambda data, page_url: parse_repositories_page(data, page_url, self.namespace),
            on_page,
        )

    def iter_tags(
        self, name: str, on_page: OnPage | None = None, *, max_pages: int | None = None
    ) -> Iterator[HubTag]:
        """The tags of one repository, most recently updated first.

        ``max_pages`` stops early (one page is the hundred most recently pushed tags, often
        enough); a repository the Hub does not know raises ``HubError`` with ``status`` 404.
        A name that is not a repository name fails here, before any request.
        """
        _check_name("repository", name)
        return self._tags(name, on_page, max_pages, _Cursor())

    def list_tags(
        self, name: str, *, max_pages: int | None = None, on_page: OnPage | None = None
    ) -> TagListing:
        """``iter_tags`` collected, with the Hub's total ``count`` even when stopping early."""
        _check_name("repository", name)
        cursor = _Cursor()
        tags = tuple(self._tags(name, on_page, max_pages, cursor))
        return TagListing(name, tags, cursor.count, cursor.complete)

    def _tags(
        self, name: str, on_page: OnPage | None, max_pages: int | None, cursor: _Cursor
    ) -> Iterator[HubTag]:
        url = self._url(f"/v2/namespaces/{self.namespace}/repositories/{name}/tags")
        url = url.copy_merge_params(TAG_ORDERING)
        yield from self._paginate(url, parse_tags_page, on_page, max_pages, cursor)

    # --- pagination ---------------------------------------------------------------------

    def _paginate(
        self,
        first: httpx.URL,
        parse: Callable[[object, str], HubPage[T]],
        on_page: OnPage | None,
        max_pages: int | None = None,
        cursor: _Cursor | None = None,
    ) -> Iterator[T]:
        cursor = cursor or _Cursor()
        url: httpx.URL | None = first.copy_merge_params({"page_size": self._page_size})
        seen: set[str] = set()
        done = 0
        while url is not None:
            if max_pages is not None and cursor.pages >= max_pages:
                return
            seen.add(str(url))
            page = parse(self._get_json(url), str(url))
            cursor.pages += 1
            cursor.count = page.count
            for skipped in page.skipped:
                log.info("%s", skipped)  # the caller records these as the run's item errors
            self.skipped.extend(page.skipped)
            yield from page.items
            done += page.size
            if on_page is not None:
                on_page(done, page.count)
            url = self._next_url(url, page, seen)
        cursor.complete = True

    def _next_url(self, current: httpx.URL, page: HubPage[Any], seen: set[str]) -> httpx.URL | None:
        """The next page, only on our own origin, never twice, never after an empty page."""
        if page.next_url is None:
            return None
        try:
            target = current.join(page.next_url)
        except httpx.InvalidURL:
            raise HubError(
                f"{current}: unusable next link {page.next_url[:200]!r}", url=str(current)
            ) from None
        if _origin(target) != _origin(self._base):
            raise HubError(
                f"{current}: refusing to follow the next link to another origin "
                f"({target.scheme}://{target.host}); only {self._base} is trusted",
                url=str(current),
            )
        if str(target) in seen:
            raise HubError(f"{current}: the next link loops back to {target}", url=str(current))
        if page.size == 0:
            raise HubError(
                f"{current}: an empty page that still links to {target}", url=str(current)
            )
        return target

    # --- requests -----------------------------------------------------------------------

    def _get_json(self, url: httpx.URL) -> object:
        response = self._get(url)
        if response.status_code != 200:
            raise self._status_error(response)
        try:
            return response.json()
        except ValueError:
            raise HubError(f"{url}: the answer is not valid JSON", url=str(url)) from None

    def _get(self, url: httpx.URL) -> httpx.Response:
        response = self._send(url)
        if response.status_code == 401 and self._credentials is not None:
            # The short-lived access token expired mid-run: log in again, once.
            self._session.token = None
            response = self._send(url)
        return response

    def _send(self, url: httpx.URL) -> httpx.Response:
        headers = {"Accept": "application/json", **self._auth_headers()}
        request = self._http.build_request("GET", url, headers=headers)
        return self._exchange(request)

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send with retries, after honouring the quota; HTTP failures become ``HubError``."""
        self._respect_rate_limit(request.url)
        label = f"{request.method} {request.url}"
        log.debug("%s", label)
        try:
            response = send_with_retries(
                self._http,
                request,
                policy=self._policy,
                budget=self._budget,
                sleep=self._sleep,
                what=f"Docker Hub API {label}",
            )
        except RateLimitedError:
            raise
        except HttpError as exc:
            raise HubError(exc.message, url=exc.url, status=exc.status) from exc
        info = parse_rate_limit(response.headers)
        if info is not None:
            self.rate_limit = info
        return response

    def _status_error(self, response: httpx.Response) -> HubError:
        status, url = response.status_code, str(response.request.url)
        hint = ""
        if status == 404:
            hint = ": no such namespace or repository on the Hub"
        elif status in (401, 403) and self._credentials is None:
            hint = f": the Hub wants credentials (set {USERNAME_ENV} and {TOKEN_ENV})"
        elif status in (401, 403) and self._credentials is not None:
            hint = f": the Hub refused the token of {self._credentials.username!r}"
        return HubError(f"Docker Hub API GET {url}: HTTP {status}{hint}", url=url, status=status)

    # --- rate limit ---------------------------------------------------------------------

    def _respect_rate_limit(self, url: httpx.URL) -> None:
        """With the quota used up, wait for its reset if the budget allows; else stop cleanly."""
        info = self.rate_limit
        if info is None or info.remaining != 0 or info.reset_at is None:
            return
        if self._waited_for == info.reset_at:
            return
        wait = (info.reset_at - self._now()).total_seconds()
        if wait <= 0:
            return
        wait += RESET_SLACK_SECONDS
        if not self._budget.take(wait):
            limit = f"all {info.limit} requests" if info.limit is not None else "every request"
            raise RateLimitedError(
                f"Docker Hub API: {limit} of the current rate-limit window are used up; the "
                f"quota resets at {info.reset_at:%Y-%m-%d %H:%M:%S} UTC (in {wait:.0f}s), later "
                f"than the {self._budget.remaining:.0f}s left of this run's wait budget "
                f"([http] max_wait); try again after that time"
                + ("" if self._credentials else f", or set {USERNAME_ENV}/{TOKEN_ENV}"),
                url=str(url),
                retry_after=wait,
            )
        log.info("Docker Hub API quota used up; waiting %.0fs for its reset", wait)
        self._waited_for = info.reset_at
        self._sleep(wait)

    # --- authentication -----------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if self._credentials is None:
            return {}
        session = self._session
        stale = session.issued is not None and self._now() - session.issued > TOKEN_RENEW_AFTER
        if session.token is None or stale:
            session.token = Secret(self._login(self._credentials))
            session.issued = self._now()
        return {"Authorization": f"Bearer {session.token.reveal()}"}

    def _login(self, credentials: HubCredentials) -> str:
        """Exchange the personal access token for a short-lived bearer token."""
        if self._session.endpoint == TOKEN_PATH:
            body = {"identifier": credentials.username, "secret": credentials.token.reveal()}
            response = self._post_login(TOKEN_PATH, body)
            if response.status_code != 404:
                return self._token_from(response, "access_token", credentials)
            self._session.endpoint = LEGACY_LOGIN_PATH
            log.info("%s is not available; using the older %s", TOKEN_PATH, LEGACY_LOGIN_PATH)
        body = {"username": credentials.username, "password": credentials.token.reveal()}
        return self._token_from(self._post_login(LEGACY_LOGIN_PATH, body), "token", credentials)

    def _post_login(self, path: str, body: Mapping[str, str]) -> httpx.Response:
        request = self._http.build_request(
            "POST", self._url(path), json=dict(body), headers={"Accept": "application/json"}
        )
        return self._exchange(request)

    def _token_from(self, response: httpx.Response, key: str, credentials: HubCredentials) -> str:
        url = str(response.request.url)
        if response.status_code != 200:
            raise HubError(
                f"Docker Hub login as {credentials.username!r} failed: HTTP "
                f"{response.status_code} from {url} (check {USERNAME_ENV} and {TOKEN_ENV})",
                url=url,
                status=response.status_code,
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        token = data.get(key) if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise HubError(f"Docker Hub login: the answer from {url} has no {key!r}", url=url)
        return token

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _check_base_url(base_url: str) -> httpx.URL:
        try:
            url = httpx.URL(base_url.rstrip("/"))
        except httpx.InvalidURL:
            url = httpx.URL("")
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(f"[hub] url must be an http(s) URL, not {base_url[:200]!r}")
        return url

    def _url(self, path: str) -> httpx.URL:
        return self._base.copy_with(path=self._base.path.rstrip("/") + path)
