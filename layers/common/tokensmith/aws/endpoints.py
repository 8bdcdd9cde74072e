"""botocore's endpoint data, cut down to the services Tokensmith calls, and its list of services, cut
to the same: about 70-90 ms less on every cold start, for every client.

Creating any botocore client loads ``botocore/data/endpoints.json``, 1.2 MB of JSON describing
every AWS service in every region, to resolve one service's endpoint. A DynamoDB client reads only
the partitions' own entries and its own service's. ``endpoints-cut.json`` (next to this module)
holds exactly those for DynamoDB, SQS, KMS and EventBridge, cut from the ``endpoints.json`` of the
botocore version it names; every client's session gets a data loader that answers ``endpoints`` from it and everything
else as botocore's own loader does.

Nothing changes but the size of what is parsed: the data is botocore's own for those services and is
reported as built-in data, as it is; the cut file is used only with the botocore version it was cut
from, and only when botocore would otherwise read its built-in file (no ``AWS_DATA_PATH`` or
``~/.aws/models`` override). In any other case the client is created the ordinary way.
``python -m tokensmith.aws.endpoints`` regenerates the file (``make layer-requirements`` does);
a test fails while it is stale.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("endpoints-cut.json")
SERVICES = ("dynamodb", "events", "kms", "sqs")


def cut(endpoints: dict[str, Any], services: tuple[str, ...] = SERVICES) -> dict[str, Any]:
    """``endpoints.json`` with only ``services`` left in each partition."""
    return {
        **endpoints,
        "partitions": [
            {**partition, "services": {k: v for k, v in partition.get("services", {}).items() if k in services}}
            for partition in endpoints["partitions"]
        ],
    }


def session() -> Any:
    """A new botocore session for a client of one of ``SERVICES``: its loader lists only those services
    (:func:`services_listed`), and answers ``endpoints`` from the cut data when that applies."""
    import botocore
    import botocore.session

    created = botocore.session.get_session()
    loader = created.get_component("data_loader")
    loader.list_available_services = functools.lru_cache(maxsize=None)(functools.partial(services_listed, loader))
    try:
        document = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return created
    if document.get("botocore") != botocore.__version__ or tuple(document.get("services", ())) != SERVICES:
        return created
    builtin = _builtin_location(loader)
    if builtin is None:
        return created
    created.register_component("data_loader", _CutEndpointsLoader(loader, document["endpoints"], builtin))
    return created


def services_listed(loader: Any, type_name: str) -> list[str]:
    """botocore's ``Loader.list_available_services`` looking at ``SERVICES`` only: those of them that
    have ``type_name`` data (``service-2``, ``endpoint-rule-set-1``…) on the loader's search path.

    botocore calls it before it loads any model of a service, to refuse an unknown service name. Its own
    version lists every directory of its data (about 430 services) and looks into each: about 6 ms a
    call, twice per client, 12 ms of every cold start. A session of :func:`session` creates clients of
    ``SERVICES`` only (``aws.clients``), so that is all it needs to know of."""
    found = set()
    for root in loader._potential_locations():
        for name in SERVICES:
            directory = os.path.join(root, name)
            versions = os.listdir(directory) if os.path.isdir(directory) else []
            if any(loader.file_loader.exists(os.path.join(directory, version, type_name)) for version in versions):
                found.add(name)
    return sorted(found)


def _builtin_location(loader: Any) -> str | None:
    """The file botocore would read ``endpoints`` from, when that is its built-in one; else None."""
    for location in loader._potential_locations("endpoints"):
        if os.path.exists(location + ".json") or os.path.exists(location + ".json.gz"):
            return location if loader.is_builtin_path(location) else None
    return None


class _CutEndpointsLoader:
    """botocore's loader, except that ``endpoints`` comes from the cut data."""

    def __init__(self, loader: Any, endpoints: dict[str, Any], location: str) -> None:
        self._loader = loader
        self._endpoints = endpoints
        self._location = location

    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        if name == "endpoints":
            return self._endpoints, self._location
        return self._loader.load_data_with_path(name)

    def load_data(self, name: str) -> Any:
        return self.load_data_with_path(name)[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def current() -> dict[str, Any]:
    """What DATA_FILE should hold for the installed botocore."""
    import botocore
    from botocore.loaders import create_loader

    endpoints = create_loader().load_data("endpoints")
    return {"botocore": botocore.__version__, "services": list(SERVICES), "endpoints": cut(endpoints)}


def main() -> int:
    document = current()
    DATA_FILE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {DATA_FILE} (botocore {document['botocore']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
