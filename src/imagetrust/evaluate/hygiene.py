"""Configuration hygiene: who the container runs as, secret-looking ENV, HEALTHCHECK, file modes.

- **Root**: no ``USER`` (the runtime's default is root), or a ``USER`` whose user part is
  ``root`` or ``0`` (``0:0``, ``root:staff``). A named user is taken as not root: whether a
  name maps to uid 0 is in the image's ``/etc/passwd``, which the SBOM does not keep, and
  official images that drop root do it by name (``USER node``) or non-zero uid.
- **Secret-looking ENV names**: the name is cut into words (``MYSQL_ROOT_PASSWORD`` ->
  ``MYSQL``, ``ROOT``, ``PASSWORD``) and flagged when a word is one of PASSWORD, PASSWD,
  PASSPHRASE, SECRET, TOKEN, KEY, APIKEY, CREDENTIAL(S), PRIVATEKEY (singular or plural).
  Whole words, so ``KEYCLOAK_HOME`` is not flagged. Not flagged either: public key material
  (a word GPG, PGP, PUBLIC, PUBKEY, FINGERPRINT, KEYRING or KEYSERVER: official images carry
  ``GPG_KEY`` to verify downloads) and names ending in ``_FILE``, ``_PATH`` or ``_DIR``, which
  point at where a secret is mounted (the Docker secrets convention, ``POSTGRES_PASSWORD_FILE``)
  rather than hold one. Only names are ever read or stored; values never are.
- **HEALTHCHECK**: informational; known only when the config was observed.
- **setuid/setgid files and world-writable paths**: as the SBOM recorded them from the merged
  layers (directories without the sticky bit, and files anyone may write).
"""

from __future__ import annotations

import re

from imagetrust.evaluate.models import HygieneEvidence, Observation
from imagetrust.sbom.models import ImageSbom

_SECRET_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "TOKENS",
        "KEY",
        "KEYS",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "PRIVATEKEY",
    }
)
_PUBLIC_WORDS = frozenset(
    {"GPG", "PGP", "PUBLIC", "PUBKEY", "FINGERPRINT", "FINGERPRINTS", "KEYRING", "KEYSERVER"}
)
_POINTER_SUFFIXES = ("_FILE", "_PATH", "_DIR")
_WORD = re.compile(r"[A-Z]+[a-z0-9]*|[a-z0-9]+")


def _words(name: str) -> list[str]:
    """``MYSQL_ROOT_PASSWORD``, ``apiKey``, ``db.password`` -> upper-case words."""
    return [word.upper() for word in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    if name.upper().endswith(_POINTER_SUFFIXES):
        return False
    words = set(_words(name))
    return bool(words & _SECRET_WORDS) and not words & _PUBLIC_WORDS


def root_user(user: str | None) -> tuple[bool, str]:
    """Whether the configured user is root, and the reason in words."""
    if user is None or not user.strip():
        return True, "no USER in the config: the container runs as root"
    name = user.split(":", 1)[0].strip()
    if name in ("root", "0"):
        return True, f"USER {user}: uid 0"
    return False, f"USER {user}"


def hygiene(sbom: ImageSbom, observation: Observation | None) -> HygieneEvidence:
    as_root, reason = root_user(sbom.facts.user)
    return HygieneEvidence(
        runs_as_root=as_root,
        root_reason=reason,
        user=sbom.facts.user,
        secret_env_names=tuple(sorted({n for n in sbom.facts.env_names if is_secret_name(n)})),
        healthcheck=observation.healthcheck if observation is not None else None,
        setuid=sbom.setuid,
        setgid=sbom.setgid,
        world_writable=sbom.world_writable,
    )
