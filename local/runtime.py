"""The local runtime: the whole service on one machine, with no AWS account and no network.

    python -m local.runtime        (or: make run)

One process that starts moto's server on loopback, creates every resource of infra/definition.py
in it, serves the HTTP API with Chalice's local gateway (a child process), runs the event pump
(SQS consumers and schedules, in threads), serves the outbox page, and creates a staff user with a
random password. When the API answers it writes .mailroom/local.json and prints where everything
is. Ctrl-C or SIGTERM stops all of it and removes local.json. It never reads stdin.

Every email produces the events SES publishes, through the configuration set's SNS topic to the feedback
queue (local/ses_simulator.py): a Delivery for an ordinary recipient, and the scenario of SES's mailbox
simulator (success@, bounce@, ooto@, complaint@, suppressionlist@ simulator.amazonses.com) for its addresses.

Ports and places come from MAILROOM_API_PORT (8000), MAILROOM_OUTBOX_PORT (8025),
MAILROOM_EMULATOR_PORT (4566) and MAILROOM_STATE_DIR (./.mailroom); MAILROOM_SES_EVENT_DELAY (seconds,
default 0) holds SES's events back, as SES takes a moment to deliver. Being a launcher, this
module (and no service code) sets the environment the service reads, for itself and its child.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.config import SettingsError
from infra import definition
from local import configure_logging, quick_start
from local.emulator import Emulator, PortInUse, ensure_free
from local.outbox import Outbox, OutboxServer, capture_send_options
from local.ses_simulator import SimulatorEvents

log = logging.getLogger("local.runtime")

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STAGE = "local"
REGION = "eu-west-1"
STAFF_EMAIL = "staff@mailroom-local.eu"
API_START_TIMEOUT = 60.0
STATE_FILE = "local.json"
MAX_SES_EVENT_DELAY = 60.0


class Stopped(Exception):
    """A stop signal arrived while the runtime was starting."""


class StartFailed(RuntimeError):
    """A part of the runtime could not start; the message says which and why."""


@dataclass(frozen=True)
class Options:
    api_port: int = 8000
    outbox_port: int = 8025
    emulator_port: int = 4566
    state_dir: Path = Path(".mailroom")
    ses_event_delay: float = 0.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Options:
        """Ports and the state directory, from the MAILROOM_* variables the runtime documents."""
        def port(name: str, default: int) -> int:
            raw = environ.get(name, "")
            if not raw:
                return default
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise StartFailed(f"{name} must be a port number, not {raw!r}.")
            return int(raw)

        def seconds(name: str) -> float:
            raw = environ.get(name, "")
            try:
                value = float(raw) if raw else 0.0
            except ValueError:
                value = -1.0
            if not 0 <= value <= MAX_SES_EVENT_DELAY:
                raise StartFailed(f"{name} must be a number of seconds from 0 to {MAX_SES_EVENT_DELAY:.0f}, "
                                  f"not {raw!r}.")
            return value

        return cls(
            api_port=port("MAILROOM_API_PORT", 8000),
            outbox_port=port("MAILROOM_OUTBOX_PORT", 8025),
            emulator_port=port("MAILROOM_EMULATOR_PORT", 4566),
            state_dir=Path(environ.get("MAILROOM_STATE_DIR") or ".mailroom"),
            ses_event_delay=seconds("MAILROOM_SES_EVENT_DELAY"),
        )

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def outbox_url(self) -> str:
        return f"http://{HOST}:{self.outbox_port}"


def service_environment(options: Options, emulator_url: str) -> dict[str, str]:
    """What the service (config.py) and boto3 read, for this start: fake credentials, and the name of the secret
    that provisioning makes in the emulator from the one infra definition (the functions read it as in AWS)."""
    return {
        "MAILROOM_STAGE": STAGE,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        # Any boto3 client the service makes, even one that forgets the endpoint, stays on the emulator.
        "AWS_ENDPOINT_URL": emulator_url,
        "MAILROOM_AWS_ENDPOINT": emulator_url,
        "MAILROOM_SECRET_NAME": definition.SECRET_NAME.format(stage=STAGE),
        "MAILROOM_PUBLIC_URL": options.api_url,
        "POWERTOOLS_SERVICE_NAME": "mailroom",
        "PYTHONUNBUFFERED": "1",
    }


class Runtime:
    """Starts the parts in order and stops whichever of them started, in reverse."""

    def __init__(self, options: Options):
        self.options = options
        self.emulator = Emulator(HOST, options.emulator_port, middleware=[capture_send_options])
        self.outbox = Outbox()
        self.outbox_server: OutboxServer | None = None
        self.api: subprocess.Popen | None = None
        self.pump: Any = None
        self.simulator: SimulatorEvents | None = None
        self.state_path = options.state_dir / STATE_FILE
        self._wrote_state = False
        self._stopping = False

    # --- start ----------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Called from a signal handler: stop at the next safe point."""
        self._stopping = True

    def _check(self) -> None:
        if self._stopping:
            raise Stopped()

    def start(self) -> dict[str, Any]:
        """Start everything; return what local.json holds once the API answers."""
        started = time.monotonic()
        options = self.options
        for port, setting in ((options.api_port, "MAILROOM_API_PORT"), (options.outbox_port, "MAILROOM_OUTBOX_PORT")):
            ensure_free(HOST, port, setting)
        self.emulator.start()
        os.environ.update(service_environment(options, self.emulator.url))
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("MAILROOM_SECRET_KEY", None)   # the keys are the emulator's secret's, as in AWS

        from chalicelib.config import get_settings
        from infra.provision import provision

        settings = get_settings()
        self.outbox.attach(self.emulator.ses_backend(settings.region))
        provision(settings)
        self._start_simulator(settings.region)
        self._check()

        self._start_api()
        self.outbox_server = OutboxServer(self.outbox, HOST, options.outbox_port)
        self.outbox_server.start()
        staff = self._create_staff()
        self._check()
        self._start_pump()
        self._wait_for_api()

        state = {"api": options.api_url, "outbox": options.outbox_url, "staff": staff}
        self._write_state(state)
        log.info("runtime: ready in %.1f s", time.monotonic() - started)
        return state

    def _start_simulator(self, region: str) -> None:
        import boto3
        from moto.core import DEFAULT_ACCOUNT_ID

        session = boto3.session.Session(region_name=region)
        self.simulator = SimulatorEvents(
            session.client("ses", endpoint_url=self.emulator.url),
            session.client("sns", endpoint_url=self.emulator.url),
            account_id=DEFAULT_ACCOUNT_ID, region=region, delay=self.options.ses_event_delay)
        self.simulator.start()
        self.outbox.subscribe(self.simulator)

    def _start_api(self) -> None:
        command = [sys.executable, "-m", "local.api_server", "--host", HOST, "--port", str(self.options.api_port),
                   "--stage", STAGE]
        # Its own session: Ctrl-C reaches the runtime only, which then stops the API in order.
        self.api = subprocess.Popen(command, cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, start_new_session=True)

    def _create_staff(self) -> dict[str, str]:
        from chalicelib.services.accounts.staff import create_staff_user

        password = secrets.token_urlsafe(18)
        create_staff_user(STAFF_EMAIL, password)
        return {"email": STAFF_EMAIL, "password": password}

    def _start_pump(self) -> None:
        import boto3
        from chalice.cli.factory import CLIFactory
        from chalice.utils import to_cfn_resource_name

        from app import app
        from infra.package import function_name
        from local.pump import FunctionSettings, Pump

        config = CLIFactory(project_dir=str(PROJECT_DIR)).create_config_obj(chalice_stage_name=STAGE)

        def function_settings(name: str) -> FunctionSettings:
            scoped = config.scope(STAGE, name)
            return FunctionSettings(function_name(STAGE, to_cfn_resource_name(name)),
                                    scoped.lambda_timeout or 60, scoped.lambda_memory_size or 128)

        sqs = boto3.session.Session().client("sqs", region_name=REGION, endpoint_url=self.emulator.url)
        self.pump = Pump(app, sqs, region=REGION, function_settings=function_settings)
        self.pump.start()

    def _wait_for_api(self) -> None:
        deadline = time.monotonic() + API_START_TIMEOUT
        while time.monotonic() < deadline:
            self._check()
            assert self.api is not None
            if self.api.poll() is not None:
                raise StartFailed(f"the API server exited with code {self.api.returncode} while starting.")
            try:
                connection = http.client.HTTPConnection(HOST, self.options.api_port, timeout=2)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        raise StartFailed(f"the API did not answer on {self.options.api_url} within {API_START_TIMEOUT:.0f} s.")

    def _write_state(self, state: dict[str, Any]) -> None:
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        partial = self.state_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(state, indent=2) + "\n")
        partial.chmod(0o600)  # it holds a password
        os.replace(partial, self.state_path)
        self._wrote_state = True

    # --- run and stop ---------------------------------------------------------------------------
    def wait(self) -> int:
        """Block until a stop is requested (0) or the API server dies (1)."""
        while not self._stopping:
            if self.api is not None and self.api.poll() is not None:
                log.error("runtime: the API server exited with code %s; stopping", self.api.returncode)
                return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        """Stop whatever started, in reverse order; safe to call at any point."""
        if self._wrote_state:
            self.state_path.unlink(missing_ok=True)
            self._wrote_state = False
        if self.api is not None:
            if self.api.poll() is None:
                self.api.terminate()
                try:
                    self.api.wait(5)
                except subprocess.TimeoutExpired:
                    self.api.kill()
                    self.api.wait()
            self.api = None
        if self.pump is not None:
            self.pump.stop()
            self.pump = None
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        if self.outbox_server is not None:
            self.outbox_server.stop()
            self.outbox_server = None
        self.emulator.stop()


def announce(state: dict[str, Any], options: Options, emulator_url: str, state_path: Path) -> None:
    """Where everything is, on stdout."""
    print(
        "mailroom is running locally\n"
        f"  API       {state['api']}\n"
        f"  outbox    {state['outbox']}   (every email sent)\n"
        f"  emulator  {emulator_url}   (moto: DynamoDB, SQS, SNS, SES)\n"
        f"  staff     {state['staff']['email']}  password {state['staff']['password']}\n"
        f"  state     {state_path}\n"
        "Ctrl-C or SIGTERM stops it.",
        flush=True,
    )
    print(quick_start.text(state["api"], state["outbox"], state["staff"]), flush=True)


def main(prepare: Callable[[dict[str, Any], Callable[[], bool]], None] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM; 0 after a clean stop, 1 if something could not start. `prepare` (make demo)
    runs once the runtime is up, with local.json's content and a way to tell whether a stop was asked for."""
    configure_logging()
    try:
        options = Options.from_environ(os.environ)
    except StartFailed as exc:
        log.error("runtime: %s", exc)
        return 2
    runtime = Runtime(options)

    def on_signal(signum: int, _frame: Any) -> None:
        runtime.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        state = runtime.start()
        announce(state, options, runtime.emulator.url, runtime.state_path)
        if prepare is not None:
            prepare(state, lambda: runtime._stopping)
        code = runtime.wait()
    except Stopped:
        code = 0
    except (StartFailed, PortInUse, SettingsError) as exc:
        log.error("runtime: could not start: %s", exc)
        code = 1
    except Exception as exc:
        log.exception("runtime: could not start: %s", type(exc).__name__)
        code = 1
    finally:
        runtime.stop()
        log.info("runtime: stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
