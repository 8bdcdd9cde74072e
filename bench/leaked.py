"""``POST /v1/tokens/revoke-leaked`` answers in the same time whatever it is sent (issue 13, case 6).

``python -m bench.leaked [--rounds 10] [--calls 20]`` (``make bench BENCH=leaked``). Figures: docs/performance.md.

1. Answer time. DynamoDB Local holds the template's table and 1,001 live tokens; moto's server (the local
   run's) holds LeakedTokensQueue, reached over HTTP by the function's own SQS client. The route's handler
   (functions/revoke_leaked, imported once and warmed up) is called in-process with the payload 2.0 event
   of events/revoke_leaked.json and one of these bodies:

   - ``forged`` (the baseline): 1 well-formed secret (right prefix, length and checksum) of no token;
   - ``real``: 1 secret of a live token;
   - ``real_1000``: the secrets of 1,000 live tokens (the route's maximum);
   - ``forged_1000``: 1,000 well-formed secrets of no token;
   - ``garbage``: 1 string that fails the checksum (nothing is queued: no SQS round trip).

   Each body is timed twice: through ``handler``, the function as deployed, which answers no sooner than
   its floor (``LEAK_REPORT_ANSWER_MS``, 250 ms by default; tokens/leaks.py ``uniform_answer_time``), and
   through ``answer``, the same function without the floor: the work itself, which shows what the floor
   hides (the work grows with the number of strings, never with which are real).

   ``--rounds`` x ``--calls`` cycles; each cycle calls every subject once, in an order that rotates from one
   cycle to the next; each call is timed alone. The queue is purged between rounds (outside the timing).
   Printed: median and p99 per subject and each median as a ratio to the ``forged`` median of the same run
   and kind. Target: every answer within 1.2 x the forged one. No worker runs while timing, so the real
   tokens stay live.
2. The worker, for scale (no target): one report of the 1,000 real secrets, then its 10 messages handed to
   functions/revoke_leaked_worker five at a time (its mapping's BatchSize); the time until all 1,000 are
   revoked, and a check that they are.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import RESULTS, ROOT  # first: it puts layers/common on sys.path
from bench.support import environ_set, environment, local_table, log, mint_token, summary_ms, write_results
from bench.verify import context, load_handler, quiet_stdout, sample_event
from devtools.local_api.runtime import LambdaContext

NAME = "leaked"
TARGET_RATIO = 1.2  # each subject's median / the forged secret's median
REPORTS = ("forged", "real", "real_1000", "forged_1000", "garbage")
KINDS = ("answer", "work")  # the deployed handler (with its floor), and the same without the floor
LABELS = {
    "forged": "1 forged secret (checksum-valid)",
    "real": "1 real live secret",
    "real_1000": "1,000 real live secrets",
    "forged_1000": "1,000 forged secrets",
    "garbage": "1 string failing the checksum",
}


@contextlib.contextmanager
def local_queue() -> Iterator[tuple[Any, str]]:
    """LeakedTokensQueue in moto's server; the functions' SQS client pointed at it. (sqs client, queue URL)."""
    from devtools.embedded_dynamodb import embedded_dynamodb
    from devtools.local_aws import client

    with embedded_dynamodb() as endpoint:
        sqs = client("sqs", endpoint)
        queue_url = sqs.create_queue(QueueName="tokensmith-bench-LeakedTokensQueue")["QueueUrl"]
        with environ_set(AWS_ENDPOINT_URL_SQS=endpoint, LEAKED_TOKENS_QUEUE_URL=queue_url):
            _reset_caches()
            try:
                yield sqs, queue_url
            finally:
                _reset_caches()


def _reset_caches() -> None:
    from tokensmith import settings
    from tokensmith.aws import clients
    from tokensmith.tokens import leaks, repository

    for cached in (
        settings.get_settings,
        clients.client,
        repository.default_repository,
        leaks.leak_reports,
        leaks.leaked_token_revoker,
    ):
        cached.cache_clear()


def report_event(secrets: list[str]) -> dict[str, Any]:
    event = sample_event("revoke_leaked")
    event["body"] = json.dumps({"tokens": secrets})
    event["isBase64Encoded"] = False
    return event


def mint_many(count: int) -> list[tuple[dict[str, Any], str]]:
    with quiet_stdout(), ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda _: mint_token(["tokens:read"]), range(count)))


def forged_secret() -> str:
    from tokensmith.tokens import format as token_format

    return token_format.generate("tks", str(uuid.uuid4()))


# --- 1. answer time ------------------------------------------------------------------------------------


def load_route() -> Any:
    """functions/revoke_leaked/app.py, imported under a module name of its own: ``handler`` and ``answer``."""
    spec = importlib.util.spec_from_file_location("bench_revoke_leaked_route", ROOT / "functions/revoke_leaked/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_answers(sqs: Any, queue_url: str, minted: list[tuple[dict[str, Any], str]], rounds: int, calls: int):
    route = load_route()
    bodies = {
        "forged": [forged_secret()],
        "real": [minted[0][1]],
        "real_1000": [secret for _, secret in minted[1:1001]],
        "forged_1000": [forged_secret() for _ in range(1000)],
        "garbage": ["tks_" + "x" * 71],
    }
    events = {name: report_event(secrets) for name, secrets in bodies.items()}
    expected = {name: json.dumps({"received": len(secrets)}, separators=(",", ":")) for name, secrets in bodies.items()}

    def subject(kind: str, name: str) -> Callable[[], bool]:
        function = route.handler if kind == "answer" else route.answer

        def call() -> bool:
            answer = function(events[name], context())
            return answer["statusCode"] == 202 and answer["body"].rstrip("\n") == expected[name]  # bodies end in \n

        return call

    subjects = {(kind, name): subject(kind, name) for kind in KINDS for name in REPORTS}
    with quiet_stdout():
        for (kind, _), call in subjects.items():  # warm: imports, clients, connections
            for _ in range(5 if kind == "work" else 1):
                if not call():
                    raise RuntimeError("a warm-up call was not answered 202")
    sqs.purge_queue(QueueUrl=queue_url)
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in subjects}
    keys = list(subjects)
    failures = 0
    started = time.perf_counter()
    for _ in range(rounds):
        with quiet_stdout():
            for number in range(calls):
                shift = number % len(keys)
                for key in keys[shift:] + keys[:shift]:
                    begin = time.perf_counter_ns()
                    ok = subjects[key]()
                    samples[key].append((time.perf_counter_ns() - begin) / 1e9)
                    failures += not ok
        sqs.purge_queue(QueueUrl=queue_url)
    result: dict[str, Any] = {}
    for kind in KINDS:
        rows = {name: summary_ms(samples[(kind, name)]) for name in REPORTS}
        base = rows["forged"]
        for row in rows.values():
            row["ratio_median"] = round(row["median_ms"] / base["median_ms"], 3)
            row["ratio_p99"] = round(row["p99_ms"] / base["p99_ms"], 3)
            row["within_target"] = row["ratio_median"] <= TARGET_RATIO
        result[kind] = rows
    result["floor_ms"] = round(get_floor() * 1000)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["failures"] = failures
    return result


def get_floor() -> float:
    from tokensmith.settings import get_settings

    return get_settings().leak_report_answer_seconds


# --- 2. the worker -------------------------------------------------------------------------------------


def measure_worker(sqs: Any, queue_url: str, minted: list[tuple[dict[str, Any], str]]) -> dict[str, Any]:
    from tokensmith.tokens.repository import default_repository

    route = load_route().answer
    worker = load_handler("functions/revoke_leaked_worker")
    reported = minted[1:1001]
    sqs.purge_queue(QueueUrl=queue_url)
    with quiet_stdout():
        answer = route(report_event([secret for _, secret in reported]), context())
    assert answer["statusCode"] == 202, answer
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages.extend(batch)
    from tokensmith.observability import logger

    started = time.perf_counter()
    failed = 0
    level = logger.log_level
    logger.setLevel("WARNING")  # no "leak report handled" line per message among the tables
    with quiet_stdout():
        for start in range(0, len(messages), 5):
            event = {"Records": [sqs_record(m, queue_url) for m in messages[start : start + 5]]}
            failed += len(worker(event, worker_context())["batchItemFailures"])
    seconds = time.perf_counter() - started
    logger.setLevel(level)
    items = default_repository().get_tokens([item["id"] for item, _ in reported])
    revoked = sum(1 for item in items if item["status"] == "revoked" and item.get("revoked_reason") == "leaked")
    return {
        "reported": len(reported),
        "messages": len(messages),
        "invocations": -(-len(messages) // 5),
        "failed_messages": failed,
        "revoked": revoked,
        "seconds": round(seconds, 2),
        "revocations_per_second": round(revoked / seconds, 1) if seconds else None,
    }


def worker_context() -> LambdaContext:
    return LambdaContext("revoke-leaked-worker", memory_limit_in_mb=256, timeout_seconds=90)  # its Timeout


def sqs_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue_url.rsplit('/', 1)[-1]}",
        "awsRegion": "us-east-1",
    }


# --- reporting -----------------------------------------------------------------------------------------


def print_table(results: dict[str, Any]) -> None:
    answers = results["answers"]
    columns = ("report", "calls", "median ms", "p99 ms", "x forged", "x p99", f"target <= {TARGET_RATIO:.1f}")
    widths = (34, 6, 10, 9, 9, 7, 13)

    def line(cells: tuple[str, ...]) -> str:
        return " ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    titles = {
        "answer": f"the answer, as deployed (floor {answers['floor_ms']} ms)",
        "work": "the work, without the floor (not targeted: what the floor hides)",
    }
    for kind in KINDS:
        print(
            f"\nPOST /v1/tokens/revoke-leaked, warm, in-process; DynamoDB Local + moto SQS "
            f"(Python {results['environment']['python']}): {titles[kind]}"
        )
        header = line(columns)
        print(header)
        print("-" * len(header))
        for name in REPORTS:
            row = answers[kind][name]
            verdict = "(baseline)" if name == "forged" else "holds" if row["within_target"] else "MISSED"
            if kind == "work" and name != "forged":
                verdict = f"({verdict})"
            cells = (
                LABELS[name],
                f"{row['n']}",
                f"{row['median_ms']:.3f}",
                f"{row['p99_ms']:.3f}",
                f"{row['ratio_median']:.3f}",
                f"{row['ratio_p99']:.3f}",
                verdict,
            )
            print(line(cells))
    worker = results["worker"]
    print(
        f"\nThe worker: {worker['reported']:,} real secrets in one report -> {worker['messages']} messages, "
        f"{worker['invocations']} invocations; {worker['revoked']:,} revoked in {worker['seconds']:.1f} s "
        f"({worker['revocations_per_second']:g}/s, one worker, DynamoDB Local), {worker['failed_messages']} failed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leaked", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5); the queue is purged between")
    parser.add_argument("--calls", type=int, default=20, help="cycles per round (default 20)")
    parser.add_argument("--output", default=str(RESULTS / f"{NAME}.json"), help="the JSON results ('' = none)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results: dict[str, Any] = {"benchmark": NAME, "environment": environment()}
    results["parameters"] = {"rounds": args.rounds, "calls": args.calls, "target_ratio": TARGET_RATIO}
    with local_table() as table, local_queue() as (sqs, queue_url):
        log(NAME, f"DynamoDB Local on {table.endpoint_url}, SQS (moto) at {queue_url}; minting 1,001 tokens")
        minted = mint_many(1001)
        log(NAME, f"{args.rounds} x {args.calls} calls per subject")
        results["answers"] = measure_answers(sqs, queue_url, minted, args.rounds, args.calls)
        log(NAME, f"answers measured in {results['answers']['seconds']} s; the worker on 1,000 real secrets")
        results["worker"] = measure_worker(sqs, queue_url, minted)
    write_results(NAME, results, args.output, started)
    print_table(results)
    answers_ok = all(row["within_target"] for row in results["answers"]["answer"].values())
    worker_ok = results["worker"]["revoked"] == results["worker"]["reported"]
    return 0 if answers_ok and worker_ok and not results["answers"]["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
