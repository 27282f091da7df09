"""What the image config says about the image: runtime versions, user, ports, labels.

Official images install their language runtimes from upstream tarballs, not from the
distribution, so no package database lists them; their Dockerfiles record the version in
``ENV`` instead (``PYTHON_VERSION=3.12.4``, ``NODE_VERSION``, ``GOLANG_VERSION``, ...). Those
values are read here; every other env value stays out (images do bake secrets into ENV), and
only env *names* are kept.
"""

from __future__ import annotations

import re

from imagetrust.oci.models import ImageConfig
from imagetrust.sbom.models import ImageFacts

# ENV names of official images whose value is the version of the runtime they install.
KNOWN_RUNTIMES = {
    "PYTHON_VERSION": "python",
    "NODE_VERSION": "node",
    "GOLANG_VERSION": "go",
    "JAVA_VERSION": "java",
    "PHP_VERSION": "php",
    "RUBY_VERSION": "ruby",
    "RUST_VERSION": "rust",
    "PERL_VERSION": "perl",
    "JULIA_VERSION": "julia",
    "OTP_VERSION": "erlang",
    "ELIXIR_VERSION": "elixir",
    "DOTNET_VERSION": "dotnet",
    "ASPNET_VERSION": "aspnet",
    "GRADLE_VERSION": "gradle",
    "MAVEN_VERSION": "maven",
    "TOMCAT_VERSION": "tomcat",
    "NGINX_VERSION": "nginx",
    "HTTPD_VERSION": "httpd",
    "PG_VERSION": "postgres",
    "MYSQL_VERSION": "mysql",
    "MARIADB_VERSION": "mariadb",
    "MONGO_VERSION": "mongodb",
    "REDIS_VERSION": "redis",
    "HAPROXY_VERSION": "haproxy",
    "RABBITMQ_VERSION": "rabbitmq",
    "DOCKER_VERSION": "docker",
}
_GENERIC = re.compile(r"^([A-Z][A-Z0-9]*)_VERSION$")
_VERSIONISH = re.compile(r"^(?:jdk-?|v)?\d+(\.\d+)*([.+~_-][0-9A-Za-z.+~_-]*)?$")
_SKIP = {"GPG", "PIP", "SETUPTOOLS", "WHEEL", "YARN", "NPM", "GOSU", "TINI", "APK", "DEBIAN"}


def runtime_versions(env: tuple[str, ...]) -> dict[str, str]:
    """``{"python": "3.12.4", ...}`` from ``NAME_VERSION=value`` entries that look like versions.

    Known names map to their runtime; any other ``X_VERSION`` with a version-shaped value is
    kept under ``x`` (lower case), except tool versions that say nothing about the runtime.
    """
    found: dict[str, str] = {}
    for item in env:
        name, sep, value = item.partition("=")
        value = value.strip()
        if not sep or not value or len(value) > 64 or not _VERSIONISH.match(value):
            continue
        if name in KNOWN_RUNTIMES:
            found[KNOWN_RUNTIMES[name]] = value
            continue
        match = _GENERIC.match(name)
        if match and match.group(1) not in _SKIP:
            found.setdefault(match.group(1).lower(), value)
    return dict(sorted(found.items()))


def image_facts(config: ImageConfig) -> ImageFacts:
    return ImageFacts(
        user=config.user,
        exposed_ports=config.exposed_ports,
        env_names=config.env_names,
        labels=dict(config.labels),
        runtimes=runtime_versions(config.env),
        entrypoint=config.entrypoint,
        cmd=config.cmd,
        created=config.created,
    )
