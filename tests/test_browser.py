"""The `oae serve --sandbox` page in headless Chromium, driven over the DevTools protocol.

Chromium talks DevTools over a pipe (``--remote-debugging-pipe``: it reads commands on
fd 3 and writes answers on fd 4, each a JSON text ending in NUL), so no WebSocket client
or browser-automation package is needed. The Debian ``chromium`` package provides the
browser; the test is skipped only when no Chromium binary exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_cli import start_serve

CHROMIUM = next(
    (
        path
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (path := shutil.which(name))
    ),
    None,
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary (apt-get install -y chromium)"
)


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, user_data_dir: str) -> None:
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()
        # The browser expects exactly fds 3 and 4: ours are first copied to free fds above
        # 4, so the child's dup2 calls onto 3 and 4 cannot clobber one another.
        child_in = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
        os.close(to_browser_read)
        os.close(from_browser_write)

        def wire_fds() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,
            pass_fds=(3, 4),
        )
        os.close(child_in)
        os.close(child_out)
        self._writer = os.fdopen(to_browser_write, "wb", buffering=0)
        self._reader = os.fdopen(from_browser_read, "rb", buffering=0)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read_loop, daemon=True).start()
        self.session: str | None = None

    def _read_loop(self) -> None:
        buffer = b""
        while chunk := self._reader.read(65536):
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        waiter = self._replies.get(message["id"])
                    if waiter is not None:
                        waiter.put(message)
                else:
                    self.events.append(message)

    def send(self, method: str, timeout: float = 15.0, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            waiter: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[message_id] = waiter
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._writer.write(json.dumps(message).encode() + b"\0")
        reply = waiter.get(timeout=timeout)
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def open_page(self) -> None:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Runtime.enable")
        self.send("Page.enable")

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")

    def page_errors(self) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("method") == "Runtime.exceptionThrown"]

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may be gone already
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._writer.close()


@pytest.fixture(scope="module")
def served_page() -> Iterator[str]:
    with start_serve("--sandbox") as url:
        yield url


@pytest.fixture
def browser() -> Iterator[DevTools]:
    with tempfile.TemporaryDirectory(prefix="oae-chromium-") as profile:
        devtools = DevTools(profile)
        try:
            devtools.open_page()
            yield devtools
        finally:
            devtools.close()


def _run_operation(browser: DevTools, name: str) -> tuple[str, str]:
    """Pick ``name``, press Run, and return (status text, response text) once it answers."""
    browser.evaluate(
        f"""(() => {{
            const select = document.getElementById("operation");
            select.value = {json.dumps(name)};
            select.dispatchEvent(new Event("change"));
            document.getElementById("status").dataset.state = "idle";
            document.getElementById("run").click();
        }})()"""
    )
    browser.wait_for('["ok", "error"].includes(document.getElementById("status").dataset.state)')
    return browser.evaluate(
        '[document.getElementById("status").textContent,'
        ' document.getElementById("response").textContent]'
    )


def test_page_runs_ping_and_ask_open_ai_in_chromium(served_page: str, browser: DevTools) -> None:
    browser.send("Page.navigate", url=served_page + "/")
    browser.wait_for('document.body && document.body.dataset.ready === "true"')

    names = browser.evaluate(
        '[...document.getElementById("operation").options].map((o) => o.value)'
    )
    assert {"ping", "askOpenAi", "getCurrentRun", "insertUpdateAssistant"} <= set(names)
    document = browser.evaluate('document.getElementById("document").value')
    assert "fragment AskOpenAIInfo on AskOpenAIType" in document

    status, body = _run_operation(browser, "ping")
    assert status.startswith("200"), (status, body)
    assert '"ping": "pong' in body

    # The variables editor is filled from the seeded demo assistant.
    status, body = _run_operation(browser, "askOpenAi")
    assert status.startswith("200"), (status, body)
    answer = json.loads(body)["data"]["askOpenAi"]
    assert answer["threadId"].startswith("conv_")  # the default backend: Responses
    assert answer["currentRunId"]

    # The page remembers the ids, so getCurrentRun is ready to run as filled in.
    deadline = time.monotonic() + 15
    while True:
        status, body = _run_operation(browser, "getCurrentRun")
        assert status.startswith("200"), (status, body)
        run = json.loads(body)["data"]["currentRun"]
        assert run["threadId"] == answer["threadId"]
        if run["status"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert run["status"] == "completed"

    # Picking an operation scrolls the document to its definition.
    browser.evaluate(
        """(() => {
            const select = document.getElementById("operation");
            select.value = "deleteMessage";
            select.dispatchEvent(new Event("change"));
        })()"""
    )
    assert browser.evaluate('document.getElementById("document").scrollTop') > 0
    assert browser.page_errors() == []


def test_page_shows_an_error_status_for_a_bad_request(served_page: str, browser: DevTools) -> None:
    browser.send("Page.navigate", url=served_page + "/")
    browser.wait_for('document.body && document.body.dataset.ready === "true"')
    browser.evaluate(
        """(() => {
            const doc = document.getElementById("document");
            doc.value = "query broken { nope }";
            doc.dispatchEvent(new Event("input"));
        })()"""
    )
    browser.wait_for('document.getElementById("operation").value === "broken"')
    status, body = _run_operation(browser, "broken")
    assert status.startswith("400"), status
    assert browser.evaluate('document.getElementById("status").dataset.state') == "error"
    assert "Cannot query field" in body
