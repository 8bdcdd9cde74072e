"""The Lambda side of the gateway: the context object, each function's settings, loading handler modules
from their CodeUri, and invoking them one at a time, as one warm container for the whole API."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from devtools.local_aws import REGION
from devtools.template import PSEUDO_PARAMETERS, function_properties

ACCOUNT_ID = PSEUDO_PARAMETERS["AWS::AccountId"]
STACK_NAME = PSEUDO_PARAMETERS["AWS::StackName"]

Handler = Callable[[dict[str, Any], Any], Any]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class LambdaFunction:
    """A function of the template, as the gateway invokes it."""

    function_id: str
    code_uri: str
    handler: str
    memory_mb: int = 128
    timeout_seconds: float = 3.0

    @classmethod
    def of(cls, template: dict[str, Any], function_id: str, code_uri: str, handler: str) -> LambdaFunction:
        """The function `function_id` of the template, its MemorySize and Timeout read from it."""
        properties = function_properties(template, function_id)
        memory, timeout = properties.get("MemorySize", 128), properties.get("Timeout", 3)
        return cls(
            function_id=function_id,
            code_uri=code_uri,
            handler=handler,
            memory_mb=int(memory) if isinstance(memory, (int, str)) and str(memory).isdigit() else 128,
            timeout_seconds=float(timeout) if isinstance(timeout, (int, float)) else 3.0,
        )


class FunctionLoader:
    """Imports each handler module once, lazily, from `<code_root>/<CodeUri>/<module>.py`, under a unique name.

    One module per source file: a function's handler and `module(code_uri)` (tests calling a handler
    directly) share it, with its globals (clients, caches), as one warm Lambda instance would."""

    _module_numbers = itertools.count(1)

    def __init__(self, code_root: Path) -> None:
        self.code_root = code_root
        self._modules: dict[Path, ModuleType] = {}
        self._by_name: dict[tuple[str, str], ModuleType] = {}  # ("functions/x/", "app"): its module, found fast
        self._lock = threading.Lock()

    def handler(self, function: LambdaFunction) -> Handler:
        module_path, _, attribute = function.handler.rpartition(".")
        if not module_path:
            raise ValueError(f"{function.function_id}: Handler {function.handler!r} is not <module>.<function>")
        module = self.module(function.code_uri, module_path, function.function_id)
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise AttributeError(f"{function.function_id}: {module.__file__} has no function {attribute!r}")  # noqa: TRY004
        return cast(Handler, handler)

    def module(self, code_uri: str, module_path: str = "app", label: str | None = None) -> ModuleType:
        """The module `<code_uri>/<module_path>.py`, imported on first use (`label` names it in sys.modules)."""
        known = self._by_name.get((code_uri, module_path))
        if known is not None:
            return known
        source = (self.code_root / code_uri / (module_path.replace(".", "/") + ".py")).resolve()
        with self._lock:
            if source not in self._modules:
                self._modules[source] = self._import(source, label or Path(code_uri).name)
            self._by_name[(code_uri, module_path)] = self._modules[source]
            return self._modules[source]

    def _import(self, source: Path, label: str) -> ModuleType:
        name = f"_local_lambda_{next(self._module_numbers)}_{label}"
        spec = importlib.util.spec_from_file_location(name, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"{label}: cannot import {source}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic and dataclasses look their module up by name
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module


class LambdaRuntime:
    """Invokes functions as Lambda would, their modules imported by `loader`, one invocation at a time: one
    warm instance of every function, whose handlers share process-global state. Runtimes do not share
    modules: give a thread a runtime of its own to run requests in parallel (as separate instances)."""

    def __init__(self, code_root: Path) -> None:
        self.loader = FunctionLoader(code_root)
        self._invoke_lock = threading.Lock()

    def invoke(self, function: LambdaFunction, event: dict[str, Any]) -> Any:
        """Call a handler as Lambda would (exceptions propagate)."""
        handler = self.loader.handler(function)
        with self._invoke_lock:
            context = LambdaContext(
                function_name=f"{STACK_NAME}-{function.function_id}",
                memory_limit_in_mb=function.memory_mb,
                timeout_seconds=function.timeout_seconds,
            )
            started = context.started
            try:
                return handler(event, context)
            finally:
                elapsed = time.monotonic() - started
                if elapsed > function.timeout_seconds:
                    log(
                        f"WARNING {function.function_id} ran {elapsed:.1f}s, longer than its Timeout of "
                        f"{function.timeout_seconds:g}s: Lambda would have stopped it"
                    )
