"""The only stage that speaks to registries: OCI distribution client and image sources.

Submodules are imported directly (``from imagetrust.oci.reference import parse_reference``)
so that the command line pays for httpx only when a command really talks to a registry.

- ``reference``: ``NAME[:TAG|@DIGEST]``, ``REGISTRY/NAME``, ``oci-layout:``, ``docker-archive:``
- ``media``, ``models``, ``digest``: media types, manifests and configs, verified reading
- ``auth``: bearer-token challenges, docker ``config.json`` and credential helpers
- ``client``: the distribution-spec pull side (HEAD, manifests, resumable verified blobs)
- ``mirrors``, ``budget``: digest-verified mirrors and the Docker Hub pull budget
- ``sources``: one ``ImageSource`` interface over registries, OCI layouts and docker archives
- ``image``: walks an index to the platforms asked for and records attestations
"""
