"""The pull side of the OCI distribution spec, for one registry.

Every request goes through ``imagetrust.http`` (retries on 5xx, resets and 429 with
``Retry-After``, inside the run's wait budget). A ``401`` is answered once with the token
dance (see ``oci.auth``); tokens are cached per repository scope. Manifests are checked
against the digest they were asked by (or that the registry announced); blobs stream
through a ``VerifyingReader`` and resume with ``Range`` after a dropped connection. Every
manifest GET goes past the pull budget first; ``HEAD`` is used wherever a digest is all
we need, because it is free.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Mapping

import httpx
from msgspec import Struct

from imagetrust.config import RegistrySettings
from imagetrust.http import HttpError
from imagetrust.oci import media
from imagetrust.oci.auth import (
    Challenge,
    CredentialStore,
    Token,
    fetch_token,
    parse_www_authenticate,
)
from imagetrust.oci.budget import PullBudget
from imagetrust.oci.digest import VerifyingReader, digest_of, is_digest, verify_bytes
from imagetrust.oci.errors import AuthError, DigestMismatchError, NotFoundError, OciError
from imagetrust.oci.models import Descriptor
from imagetrust.oci.reference import DOCKER_HUB
from imagetrust.oci.transport import Transport

log = logging.getLogger(__name__)

MAX_RESUMES = 5
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution spec's limit a registry must accept
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def registry_base_url(registry: str, settings: RegistrySettings) -> str:
    """The URL that serves ``/v2/`` for ``registry``: HTTPS, except local or listed hosts."""
    if registry == DOCKER_HUB:
        return settings.default.rstrip("/")
    host = (
        registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry.split("]")[0] + "]"
    )
    insecure = {h.lower() for h in settings.insecure}
    if host in _LOCAL_HOSTS or registry.lower() in insecure or host.lower() in insecure:
        return f"http://{registry}"
    return f"https://{registry}"


class ManifestResponse(Struct, frozen=True):
    data: bytes
    media_type: str
    digest: str

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data))


def _registry_error(response: httpx.Response) -> str:
    try:
        response.read()  # a streamed error response: its body is a small JSON document
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError, httpx.HTTPError):
        return f"HTTP {response.status_code}"
    codes = ", ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    return f"HTTP {response.status_code}" + (f" ({codes})" if codes else "")


class RegistryClient:
    """Talks to one registry (one base URL); safe to share between sources of a session."""

    def __init__(
        self,
        registry: str,
        *,
        base_url: str,
        transport: Transport,
        credentials: CredentialStore | None = None,
        budget: PullBudget | None = None,
        max_manifest_bytes: int = MAX_MANIFEST_BYTES,
    ) -> None:
        self.registry = registry
        self.max_manifest_bytes = max_manifest_bytes
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.credentials = credentials
        self.budget = budget
        self._tokens: dict[str, Token] = {}
        self._challenge: Challenge | None = None
        self._basic = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ requests and auth

    def url(self, repository: str, path: str) -> str:
        return f"{self.base_url}/v2/{repository}/{path}"

    def _scope(self, repository: str, push: bool) -> str:
        return f"repository:{repository}:{'pull,push' if push else 'pull'}"

    def _auth_header(self, scope: str) -> str | None:
        if self._basic:
            creds = self.credentials.lookup(self.registry) if self.credentials else None
            return creds.basic_header() if creds else None
        token = self._tokens.get(scope)
        if token is not None and token.valid(time.time()):
            return f"Bearer {token.value}"
        if self._challenge is not None:
            # The realm is known from an earlier 401: get the token before asking, saving a
            # round trip per repository.
            return self._authenticate(scope, self._challenge)
        return None

    def _authenticate(self, scope: str, challenge: Challenge) -> str | None:
        creds = self.credentials.lookup(self.registry) if self.credentials else None
        if challenge.scheme == "basic":
            self._basic = True
            header = creds.basic_header() if creds else None
            if header is None:
                raise AuthError(
                    f"{self.registry}: wants a username and password and none is configured",
                    hint="run `docker login` or set IMAGETRUST_REGISTRY_USERNAME/PASSWORD",
                )
            return header
        if challenge.scheme != "bearer":
            raise AuthError(f"{self.registry}: unsupported auth scheme {challenge.scheme!r}")
        scopes = [scope]
        asked = challenge.params.get("scope")
        if asked and asked != scope:
            scopes.extend(s for s in asked.split(" ") if s and s not in scopes)
        token = fetch_token(self.transport, challenge, scopes, creds, registry=self.registry)
        with self._lock:
            self._challenge = Challenge(
                challenge.scheme, {k: v for k, v in challenge.params.items() if k != "scope"}
            )
            self._tokens[scope] = token
        return f"Bearer {token.value}"

    def request(
        self,
        method: str,
        url: str,
        *,
        repository: str,
        push: bool = False,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
        what: str | None = None,
    ) -> httpx.Response:
        """Send with auth; on a 401 do the challenge once and send again."""
        scope = self._scope(repository, push)
        label = what or f"{method} {self.registry}/{repository}"
        for attempt in (1, 2):
            sent_headers = dict(headers or {})
            auth = self._auth_header(scope)
            if auth:
                sent_headers["Authorization"] = auth
            request = self.transport.client.build_request(
                method, url, headers=sent_headers, content=content, params=params
            )
            response = self.transport.send(request, stream=stream, what=label)
            if response.status_code != 401 or attempt == 2:
                break
            challenges = parse_www_authenticate(response.headers.get("www-authenticate", ""))
            response.close()
            usable = [c for c in challenges if c.scheme in ("bearer", "basic")]
            if not usable:
                raise AuthError(f"{label}: HTTP 401 without a usable WWW-Authenticate challenge")
            with self._lock:
                self._tokens.pop(scope, None)
            self._authenticate(scope, usable[0])
        if response.status_code in (401, 403):
            response.close()
            creds = self.credentials.lookup(self.registry) if self.credentials else None
            who = f"with the credentials from {creds.source}" if creds else "anonymously"
            raise AuthError(
                f"{label}: access denied {who} (HTTP {response.status_code})",
                hint="the repository may be private or not exist; check `docker login`",
            )
        return response

    def _fail(self, response: httpx.Response, label: str) -> OciError:
        detail = _registry_error(response)
        response.close()
        if response.status_code == 404:
            return NotFoundError(f"{label}: not found ({detail})")
        return OciError(f"{label}: unexpected {detail}")

    # ------------------------------------------------------------------ manifests

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        """Digest, media type and size of a tag or digest without spending a pull."""
        label = f"HEAD {self.registry}/{repository}:{reference}"
        response = self.request(
            "HEAD",
            self.url(repository, f"manifests/{reference}"),
            repository=repository,
            headers={"Accept": media.MANIFEST_ACCEPT},
            what=label,
        )
        if self.budget is not None:
            self.budget.observe(self.registry, response.headers, pulled=False)
        if response.status_code == 404:
            raise self._fail(response, label)
        if response.status_code != 200:
            raise self._fail(response, label)
        digest = response.headers.get("docker-content-digest")
        if not digest or not is_digest(digest):
            return None
        if is_digest(reference) and digest != reference:
            raise DigestMismatchError(
                f"{label}: registry reports {digest}", expected=reference, actual=digest
            )
        size = response.headers.get("content-length")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return Descriptor(media_type, digest, int(size) if size and size.isdigit() else 0)

    def get_manifest(
        self, repository: str, reference: str, *, expected_digest: str | None = None
    ) -> ManifestResponse:
        """A manifest's bytes, verified against ``expected_digest`` or the digest asked for.

        A tag fetched without an expected digest is checked against the digest the
        registry announces, and the digest of the bytes is what is returned either way.
        """
        expected = expected_digest or (reference if is_digest(reference) else None)
        label = f"{self.registry}/{repository}@{reference}"
        if self.budget is not None:
            self.budget.before_pull(self.registry, f"manifest {label}")
        try:
            response = self.request(
                "GET",
                self.url(repository, f"manifests/{reference}"),
                repository=repository,
                headers={"Accept": media.MANIFEST_ACCEPT},
                stream=True,
                what=f"GET manifest {label}",
            )
        except BaseException:
            if self.budget is not None:
                self.budget.release(self.registry)
            raise
        if self.budget is not None:
            pulled = response.status_code == 200
            self.budget.observe(self.registry, response.headers, pulled=pulled, held=True)
        if response.status_code != 200:
            raise self._fail(response, f"manifest {label}")
        data = self._bounded_body(response, f"manifest {label}")
        announced = response.headers.get("docker-content-digest")
        if expected is not None:
            verify_bytes(data, expected, source=f"manifest {label}")
            digest = expected
        else:
            digest = digest_of(data)
            if (
                announced
                and is_digest(announced)
                and announced.startswith("sha256:")
                and announced != digest
            ):
                raise DigestMismatchError(
                    f"manifest {label}: content is {digest}, registry announced {announced}",
                    expected=announced,
                    actual=digest,
                )
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return ManifestResponse(data, media_type, digest)

    def _bounded_body(self, response: httpx.Response, label: str) -> bytes:
        """The body, read only up to the manifest limit: a 3 GiB "manifest" is refused by
        its Content-Length, or after the limit when the server does not say."""
        limit = self.max_manifest_bytes
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise OciError(
                    f"{label}: {declared} bytes announced, over the {limit}-byte limit",
                    hint="raise [oci] max_manifest_bytes if the registry is right",
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise OciError(f"{label}: over the {limit}-byte limit for manifests")
            return bytes(body)
        except httpx.HTTPError as exc:
            raise OciError(f"{label}: connection failed while reading ({exc})") from None
        finally:
            response.close()

    # ------------------------------------------------------------------ blobs

    def blob_exists(self, repository: str, digest: str, *, push: bool = False) -> bool:
        response = self.request(
            "HEAD",
            self.url(repository, f"blobs/{digest}"),
            repository=repository,
            push=push,
            what=f"HEAD blob {self.registry}/{repository}@{digest}",
        )
        response.close()
        return response.status_code == 200

    def open_blob(self, repository: str, descriptor: Descriptor) -> VerifyingReader:
        """A stream of the blob that verifies size and digest; resumes after cut connections.

        The first request happens here, so a missing blob raises ``NotFoundError`` now
        rather than on the first read.
        """
        label = f"blob {self.registry}/{repository}@{descriptor.digest}"
        url = self.url(repository, f"blobs/{descriptor.digest}")
        first = self._blob_response(repository, url, 0, label)
        chunks = self._blob_chunks(repository, url, first, descriptor, label)

        def close() -> None:
            chunks.close()
            first.close()

        return VerifyingReader(
            chunks, digest=descriptor.digest, size=descriptor.size, source=label, on_close=close
        )

    def _blob_response(self, repository: str, url: str, offset: int, label: str) -> httpx.Response:
        # identity: byte offsets for Range must be offsets in the blob itself.
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = self.request(
            "GET", url, repository=repository, headers=headers, stream=True, what=f"GET {label}"
        )
        if response.status_code not in (200, 206):
            raise self._fail(response, label)
        return response

    def _blob_chunks(
        self,
        repository: str,
        url: str,
        response: httpx.Response,
        descriptor: Descriptor,
        label: str,
    ) -> Generator[bytes, None, None]:
        received = 0
        resumes = 0
        while True:
            skip = 0
            if received and response.status_code == 206:
                start = _content_range_start(response.headers.get("content-range"))
                if start != received:
                    response.close()
                    raise OciError(f"{label}: asked to resume at {received}, got range {start}")
            elif received:
                skip = received  # the server ignored Range: drop what we already have
            try:
                # iter_raw hands on bytes as they arrive; a re-chunking iterator would
                # hold back what it buffered when the connection drops, losing the offset.
                for chunk in response.iter_raw():
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                        if not chunk:
                            continue
                    received += len(chunk)
                    yield chunk
                return
            except httpx.TransportError as exc:
                resumes += 1
                if resumes > MAX_RESUMES or received >= descriptor.size:
                    raise HttpError(
                        f"{label}: connection lost at byte {received} "
                        f"({type(exc).__name__}), gave up after {resumes - 1} resumes",
                        url=url,
                    ) from exc
                log.info("%s: connection lost at byte %d; resuming", label, received)
            finally:
                response.close()
            response = self._blob_response(repository, url, received, label)


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-199/200"
    if not value or not value.startswith("bytes "):
        return None
    start = value[6:].split("-", 1)[0]
    return int(start) if start.isdigit() else None
