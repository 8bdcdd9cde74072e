"""The local run under a long load: does it grow?

``python -m bench.soak [--creations 5000] [--verifications 50000] [--every 1000]`` (``make bench BENCH=soak``).
Method and figures: docs/performance.md.

``make run``'s stack in this process: the embedded DynamoDB (moto's server), the template's table, buses
and queues, the gateway over HTTP on a free port with the table's stream and the queues feeding their
functions (the publisher reads every change), and an admin token. One client, one request at a time:

1. ``--creations`` ``POST /v1/tokens`` (each a transaction, a stream record, an event on the bus);
2. ``--verifications`` ``POST /v1/tokens/verify`` of those tokens' secrets, round robin.

After every ``--every`` requests of a phase it prints the process's resident memory (``VmRSS``) and the
median request time of those requests. At the end, per phase, the ratio of the last slice's figures to
the first's; target: ≤ 1.3 for both (a run that grows without bound fails it). The gateway runs without
its route throttles (``throttling=False``): one client sends faster than POST /v1/tokens/verify's
100 a second, and throttling is not what is measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from bench import RESULTS  # first: it puts layers/common on sys.path
from bench.support import environment, log, write_results
from devtools.embedded_dynamodb import embedded_dynamodb
from devtools.local_api.server import serve_in_thread
from devtools.local_aws import dynamodb_client
from devtools.template import create_table, load_template

NAME = "soak"
TABLE = "tokensmith-soak"
TARGET_RATIO = 1.3


def resident_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Slices:
    """Request times of one phase, cut into slices of `every` requests: (requests so far, RSS, median)."""

    def __init__(self, phase: str, every: int) -> None:
        self.phase = phase
        self.every = every
        self.times: list[float] = []
        self.rows: list[dict[str, float]] = []
        self.retries = 0  # 503s retried

    def add(self, seconds: float) -> None:
        self.times.append(seconds)
        if len(self.times) == self.every:
            done = self.every * (len(self.rows) + 1)
            row = {
                "requests": done,
                "rss_mb": round(resident_mb(), 1),
                "median_ms": round(statistics.median(self.times) * 1000, 2),
            }
            self.rows.append(row)
            self.times = []
            log(NAME, f"{self.phase} {done:>6}: RSS {row['rss_mb']:8.1f} MB, median {row['median_ms']:7.2f} ms")

    def summary(self) -> dict[str, Any]:
        first, last = self.rows[0], self.rows[-1]
        rss_ratio = last["rss_mb"] / first["rss_mb"]
        time_ratio = last["median_ms"] / first["median_ms"]
        return {
            "slices": self.rows,
            "rss_ratio": round(rss_ratio, 2),
            "median_ratio": round(time_ratio, 2),
            "within_target": rss_ratio <= TARGET_RATIO and time_ratio <= TARGET_RATIO,
            "retried_503": self.retries,
        }


def timed(session: requests.Session, slices: Slices, method: str, url: str, body: Callable[[], Any]) -> Any:
    """One request, timed; a 503 (the embedded store slower than the app's 1 s timeout, on a loaded machine)
    is retried after its Retry-After, as a client would, up to 5 times (counted in `slices.retries`), with
    a new `body()` (a creation that landed all the same must not make its retry a 409)."""
    for _ in range(6):
        started = time.perf_counter()
        answer = session.request(method, url, timeout=30, json=body())
        elapsed = time.perf_counter() - started
        if answer.status_code != 503:
            break
        slices.retries += 1
        time.sleep(min(float(answer.headers.get("Retry-After") or 1), 1.0))
    slices.add(elapsed)
    if answer.status_code >= 300:
        raise RuntimeError(f"{method} {url} answered {answer.status_code}: {answer.text[:200]}")
    return answer.json()


def soak(creations: int, verifications: int, every: int) -> dict[str, Any]:
    from tokensmith.bootstrap import create_admin_token  # the app's code: once the environment is set

    template = load_template()
    with embedded_dynamodb() as endpoint:
        create_table(dynamodb_client(endpoint), template, TABLE)
        with serve_in_thread(
            endpoint, table_name=TABLE, aws_endpoint_url=endpoint, event_sources=True, throttling=False
        ) as server:
            _, admin = create_admin_token(TABLE, endpoint_url=endpoint, organization_id="platform", name="soak")
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {admin}"
            log(NAME, f"local run on {server.base_url}, RSS {resident_mb():.1f} MB")
            created = Slices("creations", every)
            secrets = []
            for n in range(creations):

                def token(n: int = n) -> dict[str, Any]:
                    return {
                        "name": f"soak-{n}-{uuid.uuid4().hex[:6]}",
                        "scopes": ["tokens:read"],
                        "organization_id": "acme",
                    }

                secrets.append(timed(session, created, "POST", f"{server.base_url}/v1/tokens", token)["secret"])
            verified = Slices("verifications", every)
            for n in range(verifications):
                secret = secrets[n % len(secrets)]
                answer = timed(
                    session, verified, "POST", f"{server.base_url}/v1/tokens/verify", lambda s=secret: {"token": s}
                )
                if not answer.get("valid"):
                    raise RuntimeError(f"a live token did not verify: {answer}")
            events = server.gateway.events
            invocations = events.invocations if events is not None else 0
    return {"creations": created.summary(), "verifications": verified.summary(), "stream_invocations": invocations}


def print_table(results: dict[str, Any]) -> None:
    print(f"\nThe local run under load (embedded DynamoDB, event sources on); target last/first ≤ {TARGET_RATIO}")
    for phase in ("creations", "verifications"):
        summary = results[phase]
        first, last = summary["slices"][0], summary["slices"][-1]
        verdict = "ok" if summary["within_target"] else "OVER TARGET"
        print(
            f"  {phase:<13} RSS {first['rss_mb']:7.1f} → {last['rss_mb']:7.1f} MB (× {summary['rss_ratio']}),"
            f" median {first['median_ms']:6.2f} → {last['median_ms']:6.2f} ms (× {summary['median_ratio']})  {verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--creations", type=int, default=5000, help="POST /v1/tokens calls (default 5000)")
    parser.add_argument("--verifications", type=int, default=50000, help="POST /v1/tokens/verify calls")
    parser.add_argument("--every", type=int, default=1000, help="requests per printed slice (default 1000)")
    parser.add_argument("--output", default=str(RESULTS / f"{NAME}.json"), help="the JSON results ('' = none)")
    args = parser.parse_args(argv)
    if args.creations < args.every or args.verifications < args.every:
        parser.error("each phase needs at least --every requests")

    started = time.perf_counter()
    results: dict[str, Any] = {"benchmark": NAME, "environment": environment()}
    results["parameters"] = {"creations": args.creations, "verifications": args.verifications, "every": args.every}
    results.update(soak(args.creations, args.verifications, args.every))
    write_results(NAME, results, args.output, started)
    print_table(results)
    return 0 if results["creations"]["within_target"] and results["verifications"]["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
