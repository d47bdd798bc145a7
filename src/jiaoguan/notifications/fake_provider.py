"""A local fake SMS provider that speaks the protocol of ``signing.py``: for tests and for trying the HTTP
backend by hand. Nothing is sent anywhere; messages are recorded in memory.

In a test::

    with FakeSmsProvider(key=settings.JIAOGUAN_SMS_PROVIDER_KEY) as provider:   # 127.0.0.1, a free port
        provider.fail_next(2, mode="error")     # the next 2 accepted calls answer 500
        ... HttpProviderBackend(providers=[provider.url], ...) ...
        assert provider.messages[-1].phone == "13900000000"

Modes of ``fail_next(n, mode=...)`` (n=None: until ``recover()``):
  "error"  answer 500;  "hang"  answer nothing until the client has given up (then 504);
  "reject" answer 400 invalid_number.
Phone numbers in ``reject_numbers`` always get 400 invalid_number, as do numbers that are not mainland mobiles.

By hand (from the repository root; or ``.venv/bin/python manage.py fake_sms_provider --port 8025``)::

    PYTHONPATH=src .venv/bin/python -m jiaoguan.notifications.fake_provider --port 8025 [--key dev-provider-key]
    JIAOGUAN_SMS_BACKEND=http JIAOGUAN_SMS_PROVIDERS=http://127.0.0.1:8025 make run

Control endpoints (unsigned, local tool): ``GET /messages``, ``POST /control`` with
``{"fail_next": 3, "mode": "error"}``, ``{"recover": true}`` or ``{"reset": true}``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import re
import sys
import threading
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jiaoguan.notifications import signing

MODES = ("error", "hang", "reject")
_MOBILE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class ReceivedSms:
    phone: str
    text: str
    reference: str
    message_id: str
    at: str


@dataclass
class _Plan:
    mode: str = ""
    remaining: int | None = 0  # None: until recover()
    hang_seconds: float = 30.0


@dataclass
class Stats:
    calls: int = 0              # every POST /sms/send, whatever the outcome
    bad_signatures: int = 0     # refused with 401
    failures: int = 0           # answered with an injected failure
    duplicates: int = 0         # a reference seen before (answered with the first id)
    by_status: dict[int, int] = field(default_factory=dict)


class FakeSmsProvider:
    def __init__(self, *, key: str = "dev-provider-key", host: str = "127.0.0.1", port: int = 0,
                 name: str = "fake", echo: bool = False) -> None:
        self.key = key
        self.name = name
        self.echo = echo
        self.reject_numbers: set[str] = set()
        self.latency = 0.0  # seconds each accepted send takes (a slow provider), 0 by default
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._release = threading.Event()  # set on stop(): lets hanging requests finish
        self._ids = itertools.count(1)
        self._plan = _Plan()
        self._messages: list[ReceivedSms] = []
        self._by_reference: dict[str, str] = {}
        self.stats = Stats()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life --------------------------------------------------------------------------------------------------
    def start(self) -> FakeSmsProvider:
        provider = self

        class Handler(_Handler):
            fake = provider

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._release.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-sms-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSmsProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the provider first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # --- control -----------------------------------------------------------------------------------------------
    def fail_next(self, n: int | None = 1, *, mode: str = "error", hang_seconds: float = 30.0) -> None:
        """Make the next ``n`` authentic calls fail in ``mode`` (None: every call until ``recover()``)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self._plan = _Plan(mode=mode, remaining=n, hang_seconds=hang_seconds)

    def recover(self) -> None:
        with self._lock:
            self._plan = _Plan()

    def reset(self) -> None:
        with self._lock:
            self._plan = _Plan()
            self._messages.clear()
            self._by_reference.clear()
            self.reject_numbers.clear()
            self.latency = 0.0
            self.stats = Stats()

    @property
    def messages(self) -> list[ReceivedSms]:
        with self._lock:
            return list(self._messages)

    # --- behaviour (called by the handler thread) ------------------------------------------------------------
    def _take_failure(self) -> _Plan | None:
        with self._lock:
            plan = self._plan
            if not plan.mode or plan.remaining == 0:
                return None
            if plan.remaining is not None:
                plan.remaining -= 1
            self.stats.failures += 1
            return _Plan(plan.mode, plan.remaining, plan.hang_seconds)

    def _handle_send(self, headers, body: bytes) -> tuple[int, dict]:
        with self._lock:
            self.stats.calls += 1
        problem = signing.verify(key=self.key, timestamp=headers.get(signing.TIMESTAMP_HEADER),
                                 sig=headers.get(signing.SIGNATURE_HEADER), body=body)
        if problem:
            with self._lock:
                self.stats.bad_signatures += 1
            return 401, {"error": problem}
        failure = self._take_failure()
        if failure is not None:
            if failure.mode == "hang":
                self._release.wait(failure.hang_seconds)
                return 504, {"error": "gateway_timeout"}
            if failure.mode == "reject":
                return 400, {"error": "invalid_number"}
            return 500, {"error": "internal_error"}
        try:
            data = json.loads(body.decode("utf-8"))
            phone, text = str(data["phone"]), str(data["text"])
            reference = str(data.get("reference") or "")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return 400, {"error": "invalid_request"}
        if not text.strip():
            return 400, {"error": "invalid_request"}
        if not _MOBILE.fullmatch(phone) or phone in self.reject_numbers:
            return 400, {"error": "invalid_number"}
        if self.latency:
            self._release.wait(self.latency)
        with self._lock:
            if reference and reference in self._by_reference:
                self.stats.duplicates += 1
                return 200, {"message_id": self._by_reference[reference], "duplicate": True}
            message_id = f"{self.name}-{next(self._ids)}"
            sms = ReceivedSms(phone=phone, text=text, reference=reference, message_id=message_id,
                              at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
            self._messages.append(sms)
            if reference:
                self._by_reference[reference] = message_id
        if self.echo:
            print(f"{sms.at} {phone} {text}", flush=True)
        return 200, {"message_id": message_id, "duplicate": False}

    def _handle_control(self, body: bytes) -> tuple[int, dict]:
        try:
            data = json.loads(body.decode("utf-8") or "{}")
            if data.get("reset"):
                self.reset()
            elif data.get("recover"):
                self.recover()
            elif "fail_next" in data:
                self.fail_next(data["fail_next"], mode=data.get("mode", "error"),
                               hang_seconds=float(data.get("hang_seconds", 30)))
            else:
                return 400, {"error": "say fail_next, recover or reset"}
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"ok": True}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSmsProvider
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads linger after stop()
    MAX_BODY = 64 * 1024

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # quiet in tests; the CLI echoes messages itself

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > self.MAX_BODY:
            return None
        return self.rfile.read(length)

    def _reply(self, status: int, data: dict | list) -> None:
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        with self.fake._lock:
            self.fake.stats.by_status[status] = self.fake.stats.by_status.get(status, 0) + 1
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a "hang" outlived its timeout)

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self._read_body()
        if body is None:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "invalid_request"})
            return
        if self.path == "/sms/send":
            self._reply(*self.fake._handle_send(self.headers, body))
        elif self.path == "/control":
            self._reply(*self.fake._handle_control(body))
        else:
            self._reply(404, {"error": "not_found"})

    def do_GET(self):  # noqa: N802
        if self.path == "/messages":
            self._reply(200, [asdict(m) for m in self.fake.messages])
        elif self.path == "/health":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": "not_found"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local fake SMS provider (Jiaoguan's provider protocol).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--key", default=os.environ.get("JIAOGUAN_SMS_PROVIDER_KEY", "dev-provider-key"))
    parser.add_argument("--name", default="fake")
    args = parser.parse_args(argv)
    provider = FakeSmsProvider(key=args.key, host=args.host, port=args.port, name=args.name, echo=True).start()
    print(f"fake SMS provider on {provider.url} (POST /sms/send, GET /messages, POST /control); Ctrl-C stops",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
