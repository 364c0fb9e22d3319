"""`make demo` for real: it starts, answers the calls it suggests, and leaves nothing behind.

The demo runs as a subprocess (``python -m demo``) on a free block of ports (DEMO_PORT_OFFSET),
not the seed's: other runs of the suite, or a developer's own demo, may hold those. Loopback only.
"""

from __future__ import annotations

import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from demo import layout as layouts
from demo.console import PROMPT
from demo.processes import port_problem
from gateway.settings import SERVICES
from tests.support.http import local_session

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
START_SECONDS = 60


class Demo:
    """A running ``python -m demo``: its process, and its output read as it comes."""

    def __init__(self, offset: int, directory: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PORT"}
        env.update(DEMO_PORT_OFFSET=str(offset), DEMO_DIR=str(directory))
        self.layout = layouts.from_env(environ=env)
        self.process = subprocess.Popen([sys.executable, "-m", "demo", *args], cwd=ROOT, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output, self.lines = "", queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = START_SECONDS) -> str:
        """Return the output up to the first line containing ``text``; fail the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {text!r} from the demo within {timeout} s:\n{self.output}")
            if line is None:
                pytest.fail(f"the demo ended before printing {text!r}:\n{self.output}")
            self.output += line
        return self.output

    def send(self, command: str) -> None:
        """Type a console command."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def stop(self) -> int:
        """Stop the demo with SIGINT, as Ctrl-C does, and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            status = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"the demo did not stop within 30 s of SIGINT:\n{self.output}")
        self.drain()
        return status

    def drain(self) -> None:
        """Collect the rest of the output of an ended demo."""
        while (line := self.lines.get(timeout=10)) is not None:
            self.output += line


@pytest.fixture
def offset() -> int:
    """Return a DEMO_PORT_OFFSET whose ten ports are all free on 127.0.0.1 now."""
    for _ in range(50):
        candidate = random.randrange(20_000, 50_000, 100)
        layout = layouts.from_env(environ={"DEMO_PORT_OFFSET": str(candidate)})
        if not any(port_problem("127.0.0.1", port) for port, _what in layout.ports()):
            return candidate
    pytest.fail("no free block of ten ports for the demo")


@pytest.fixture
def start_demo(offset, tmp_path):
    """Start demos; stop any still running at the end."""
    demos: list[Demo] = []

    def start(*args: str) -> Demo:
        demos.append(Demo(offset, tmp_path / "demo", *args))
        return demos[-1]

    yield start
    for demo in demos:
        if demo.process.poll() is None:
            demo.process.send_signal(signal.SIGINT)
            demo.process.wait(30)


def child_groups(pid: int) -> set[int]:
    """Return the process groups of the children of ``pid`` (from /proc)."""
    groups = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            groups.add(int(fields[2]))
    return groups


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def burst_statuses(banner: str, user_token: str) -> list[str]:
    """Run the burst line the demo printed, in bash, and return the statuses it shows."""
    line = next(line for line in banner.splitlines() if line.startswith("for i in"))
    result = subprocess.run(["bash", "-c", line], env={**os.environ, "USER_TOKEN": user_token}, capture_output=True,
                            text=True, timeout=30, check=True)
    return result.stdout.split()


def assert_all_stopped(demo: Demo, groups: set[int]) -> None:
    """Every port of the demo is free again and no process of its children's groups is left."""
    assert [port for port, _what in demo.layout.ports() if port_problem("127.0.0.1", port)] == []
    assert [pgid for pgid in groups if group_alive(pgid)] == []


def make_the_printed_calls(banner: str, base: str) -> None:
    """The public call, the protected one without and with the printed user token, the burst."""
    user_token = re.search(r"^export USER_TOKEN=(\S+)$", banner, re.M).group(1)
    with local_session() as client:
        public = client.post(f"{base}/api/v1/auth/login", json={"username": "demo"}, timeout=10)
        assert public.status_code == 200, public.text
        assert public.json()["received_headers"]["X-Request-ID"] == public.headers["X-Request-ID"]
        assert client.get(f"{base}/api/v1/content/articles", timeout=10).status_code == 401
        protected = client.get(f"{base}/api/v1/content/articles", timeout=10,
                               headers={"Authorization": f"Bearer {user_token}"})
        assert protected.status_code == 200, protected.text
        assert protected.json()["received_headers"]["X-User-ID"] == "demo-user"
        if shutil.which("curl"):
            statuses = burst_statuses(banner, user_token)
        else:  # the same calls without curl
            statuses = [str(client.get(f"{base}/api/v1/search/query?q=gateway", timeout=10,
                                       headers={"Authorization": f"Bearer {user_token}"}).status_code)
                        for _ in range(8)]
    assert statuses == ["200"] * 5 + ["429"] * 3


def stop_and_start_a_standin(demo: Demo) -> None:
    """Type `stop auth`, see the gateway fail to reach it, `start auth`, see it answer again."""
    url = f"{demo.layout.gateway_url}/api/v1/auth/me"
    demo.send("stop auth")
    demo.wait_for("auth stopped", timeout=20)
    with local_session() as client:
        # One failed call (its retries refused too) is below the circuit's threshold of 5: a 502, not a 503.
        down = client.get(url, timeout=10)
        assert (down.status_code, down.json()["error"]) == (502, "bad_gateway"), down.text
        demo.send("start auth")
        demo.wait_for("auth started", timeout=30)
        assert client.get(url, timeout=10).status_code == 200


def use_the_login_link_and_the_token_command(demo: Demo, banner: str) -> None:
    """The banner's login link signs in; `token ID user` prints a token the gateway takes, as the stand-in says."""
    base = demo.layout.gateway_url
    link = re.search(rf"^({re.escape(base)}/dashboard/login\?token=\S+)$", banner, re.M).group(1)
    with local_session() as client:
        signed_in = client.get(link, timeout=10, allow_redirects=False)
        assert signed_in.status_code in (302, 303), signed_in.text
        assert "Set-Cookie" in signed_in.headers
        hint = client.post(f"{base}/api/v1/auth/login", json={"username": "x"}, timeout=10).json()["message"]
        assert "type `token ID user` in the demo's terminal" in hint
        demo.send("token ops-1 user")
        # The prompt waits on the line the answer completes (it shows before each command typed).
        user_token = re.search(rf"^{PROMPT}export TOKEN=(\S+)$", demo.wait_for("export TOKEN=", timeout=20), re.M)
        reply = client.get(f"{base}/api/v1/content/articles", timeout=10,
                           headers={"Authorization": f"Bearer {user_token.group(1)}"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["received_headers"]["X-User-ID"] == "ops-1"


def test_demo_answers_its_calls_and_stops_on_ctrl_c(start_demo):
    demo = start_demo()
    banner = demo.wait_for("Ctrl-C stops everything.")
    make_the_printed_calls(banner, demo.layout.gateway_url)
    use_the_login_link_and_the_token_command(demo, banner)
    stop_and_start_a_standin(demo)
    groups = child_groups(demo.process.pid)
    assert len(groups) == 10  # nine stand-ins and the gateway, each its own process group
    assert demo.stop() == 0
    assert demo.output.rstrip().endswith("Stopped.")
    assert_all_stopped(demo, groups)


def test_check_mode_makes_the_three_calls_and_stops(start_demo):
    demo = start_demo("--check")
    status = demo.process.wait(START_SECONDS)
    demo.drain()
    assert status == 0, demo.output
    assert len(re.findall(r"^check: ok ", demo.output, re.M)) == 3, demo.output
    assert demo.output.rstrip().endswith("Stopped.")
    assert_all_stopped(demo, set())


def test_a_busy_port_is_one_line_and_status_1(offset, tmp_path):
    layout = layouts.from_env(environ={"DEMO_PORT_OFFSET": str(offset)})
    content_port = layout.standins[1].port
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    env.update(DEMO_PORT_OFFSET=str(offset), DEMO_DIR=str(tmp_path / "demo"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", content_port))
        busy.listen()
        result = subprocess.run([sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=30, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"demo: port {content_port} (content stand-in) is already in use;")
    assert not (tmp_path / "demo").exists()  # nothing was started or written


def test_ports_are_the_seeds_moved_by_the_offset():
    seed = layouts.from_env(environ={})
    assert seed.gateway_port == 8000
    assert [s.port for s in seed.standins] == [int(url.rsplit(":", 1)[1]) for _n, _e, url, _p in SERVICES]
    moved = layouts.from_env(environ={"DEMO_PORT_OFFSET": "100", "PORT": "9000"})
    assert (moved.gateway_port, moved.standins[0].port) == (9000, 8102)
    with pytest.raises(layouts.LayoutError, match="DEMO_PORT_OFFSET"):
        layouts.from_env(environ={"DEMO_PORT_OFFSET": "many"})
