"""How large a message can cross between a Jupyter kernel and JupyterLab, in each direction.

Run from the repository root after the README's set-up (needs Debian's chromium at /usr/bin/chromium):
    .venv/bin/python benchmarks/message_limits.py
    .venv/bin/python benchmarks/message_limits.py --down-mb 8 64 512 --up-mb 8 16   # other sizes

It starts the JupyterLab installed in .venv, opens a notebook in headless Chromium and displays a probe
widget (an anywidget, the same transport as ClipPlayer), then bisects over message sizes:

- kernel → browser: Python sets a synced ``bytes`` trait of N random bytes (one comm "update" message
  with one binary buffer); the browser's view reports the length and Adler-32 of what it received.
- browser → kernel: the view makes N bytes and sends them the two ways a widget can: ``model.set`` +
  ``save_changes()`` (a state update, as ClipPlayer's frame/playing sync) and ``model.send`` (a custom
  message); the kernel reports the length and Adler-32 of what it received.

A size "arrives" when length and checksum match. Every websocket message and close is recorded in the
page, so a lost message shows the close code the server gave. The table lists each size tried, the
result, and the setting or code the limit comes from (read from the installed packages' source).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import websocket  # websocket-client, a dependency of jupyter_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.harness import CHROMIUM, CHROMIUM_FLAGS, JupyterLab, NotebookPage, free_port, write_notebook  # noqa: E402
from tests.e2e.test_message_limits_e2e import WS_SPY  # noqa: E402  (records every websocket message's size)

MB = 1024 * 1024
DOWN_MB = (8, 16, 32, 64, 128, 256, 512, 1024)  # 1 GiB peaks at ~6 GB of memory in all
UP_MB = (8, 16, 32, 64)

ADLER_JS = """
function adler32(u8) {
  let a = 1, b = 0, i = 0;
  while (i < u8.length) {
    const end = Math.min(i + 5552, u8.length);
    for (; i < end; i++) { a += u8[i]; b += a; }
    a %= 65521; b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
"""

PROBE = '''
import zlib
import anywidget, numpy as np, traitlets

class Probe(anywidget.AnyWidget):
    _esm = r"""
%s
export default {
  render({ model, el }) {
    window.__probeModel = model;
    model.on('change:ack', () => { window.__ack = model.get('ack'); });
    const show = () => {
      const v = model.get('down');
      const u8 = v instanceof DataView ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(0);
      window.__probe = { n: u8.length, adler: adler32(u8) };
    };
    model.on('change:down', show);
    show();
    window.__sendUp = (n, how) => {
      const u8 = new Uint8Array(n);
      for (let i = 0; i < n; i++) u8[i] = Math.imul(i + 1, 2654435761) >>> 24;
      const adler = adler32(u8);
      if (how === 'custom') model.send({ n, adler }, undefined, [u8.buffer]);
      else { model.set('up', new DataView(u8.buffer)); model.save_changes(); }
      return adler;
    };
    el.textContent = 'probe';
  },
};
"""
    down = traitlets.Bytes(b"").tag(sync=True)
    up = traitlets.Any(None).tag(sync=True)
    ack = traitlets.List([]).tag(sync=True)  # what the kernel received, reported back to the page

def _on_up(change):
    v = change["new"]
    if v is not None:
        probe.ack = ["state", len(v), zlib.adler32(v)]

def _on_custom(widget, content, buffers):
    probe.ack = ["custom", len(buffers[0]) if buffers else 0, zlib.adler32(buffers[0]) if buffers else None]

probe = Probe()
probe.observe(_on_up, "up")
probe.on_msg(_on_custom)

def make_down(n):
    global data
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    return zlib.adler32(data)

def send_down():
    global data
    probe.down, data = data, None

probe
''' % ADLER_JS


class CdpPage:
    """The few Playwright ``Page`` calls :class:`NotebookPage` makes, sent over the DevTools protocol directly.

    Playwright is not used here: it enables the protocol's Network domain, which copies every websocket frame,
    base64-encoded, into Playwright's Node driver, and that driver runs out of memory on a 256 MB frame. That is
    a limit of the test driver, not of Chromium or Jupyter; this client never enables Network.
    """

    def __init__(self, ws_url: str):
        self.conn = websocket.create_connection(ws_url, suppress_origin=True, timeout=300)
        self.next_id = 0

    def send(self, method: str, **params):
        self.next_id += 1
        self.conn.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.conn.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, function: str, arg=None):
        result = self.send("Runtime.evaluate", expression=f"({function})({json.dumps(arg)})", awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("exception", {}).get("description", result))
        return result["result"].get("value")

    def wait_for_function(self, function: str, timeout: float = 30_000, polling: float = 100) -> None:
        deadline = time.monotonic() + timeout / 1000
        while not self.evaluate(f"async () => Boolean(await ({function})())"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{function} stayed false for {timeout / 1000:.0f} s")
            time.sleep(polling / 1000)

    def wait_for_timeout(self, ms: float) -> None:
        time.sleep(ms / 1000)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def add_init_script(self, source: str) -> None:
        self.send("Page.addScriptToEvaluateOnNewDocument", source=source)


class CdpNotebookPage(NotebookPage):
    def accept_dialogs(self) -> None:
        # a fresh JupyterLab may ask which kernel to use; accept its default
        for _ in range(5):
            if not self.page.evaluate("() => { const b = document.querySelector('.jp-Dialog .jp-mod-accept');"
                                      " if (b) b.click(); return !!b; }"):
                break
            time.sleep(0.3)


@contextmanager
def cdp_page(profile: Path) -> Iterator[CdpPage]:
    """Debian's headless Chromium with the harness's flags, and its first tab."""
    port = free_port()
    proc = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "--window-size=1000,700", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    tabs = [t for t in json.load(r) if t["type"] == "page"]
                if tabs:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its debugging port in 30 s")
            time.sleep(0.3)
        page = CdpPage(tabs[0]["webSocketDebuggerUrl"])
        page.send("Page.enable")  # needed for init scripts; page events are read and dropped
        page.send("Emulation.setFocusEmulationEnabled", enabled=True)  # as Playwright does: JupyterLab tracks focus
        try:
            yield page
        finally:
            page.conn.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def source_line(module, pattern: str) -> str:
    """``path:line`` of the first line of ``module``'s source matching ``pattern``, for the table's sources."""
    path = Path(inspect.getsourcefile(module))
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.search(pattern, line):
            site = next(p for p in path.parents if p.name == "site-packages")
            return f"{path.relative_to(site)}:{number}"
    return str(path)


def sources() -> dict[str, str]:
    """Where each limit (or the absence of one) comes from, read from the installed packages' source."""
    import jupyter_server
    import tornado
    import tornado.websocket
    import zmq
    from jupyter_server.services.kernels.connection import channels

    server_dir = Path(jupyter_server.__file__).parent
    sets_it = [str(p.relative_to(server_dir.parent)) for p in server_dir.rglob("*.py")
               if "websocket_max_message_size" in p.read_text(encoding="utf-8")]
    sock = zmq.Context.instance().socket(zmq.SUB)
    maxmsgsize = sock.getsockopt(zmq.MAXMSGSIZE)
    sock.close()
    return {
        "tornado": (
            f"tornado {tornado.version}: `WebSocketHandler.max_message_size` is the application setting "
            f"`websocket_max_message_size`, default `10 * 1024 * 1024` "
            f"({source_line(tornado.websocket, r'^_default_max_message_size')}), checked only on frames tornado "
            f"reads ({source_line(tornado.websocket, r'new_len > self.params.max_message_size')}: closes with 1009 "
            f"\"message too big\"); writes are not checked. jupyter_server {jupyter_server.__version__} "
            + (f"sets it in {', '.join(sets_it)}" if sets_it else "never sets it (no file mentions it)")
        ),
        "zmq": (
            f"pyzmq {zmq.__version__} / libzmq {zmq.zmq_version()}: `MAXMSGSIZE` = {maxmsgsize} (no limit) by "
            "default on the kernel's and the server's sockets; jupyter_server's IOPub data-rate limit counts only "
            f"stream output ({source_line(channels, r'if msg_type == .stream. else 0')})"
        ),
    }


class Session:
    def __init__(self, nb: NotebookPage):
        self.nb = nb
        self.page = nb.page

    def ws(self) -> dict:
        return self.page.evaluate("() => ({ closes: window.__ws.closes.length, received: Math.max(0, ...window.__ws.received),"
                                  " sent: Math.max(0, ...window.__ws.sent) })")

    def connected(self, timeout_ms: int = 60_000) -> None:
        self.page.wait_for_function(
            "() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;"
            " return k.connectionStatus === 'connected'; }", timeout=timeout_ms)

    def down(self, n: int) -> dict:
        """Kernel → browser: one state update carrying n bytes."""
        self.page.evaluate("() => { window.__probe = null; window.__ws.received = []; }")
        closes = self.ws()["closes"]
        expected = self.nb.python_value(f"make_down({n})")
        t0 = time.perf_counter()  # from setting the trait to the page having checked what it received
        self.nb.execute("send_down()")
        arrived = None
        try:
            self.page.wait_for_function(f"() => window.__probe && window.__probe.n === {n}",
                                        timeout=60_000 + n // MB * 400, polling=200)
            arrived = self.page.evaluate("() => window.__probe")
        except TimeoutError as e:  # a lost message is a result, not an error
            print(f"  kernel → browser {n} B: {type(e).__name__}", file=sys.stderr)
        seconds = time.perf_counter() - t0
        ws = self.ws()
        self.connected()
        self.nb.execute("probe.down = b''")
        ok = arrived is not None and arrived["adler"] == expected
        return {"ok": ok, "seconds": seconds, "wire": ws["received"], "closed": ws["closes"] > closes,
                "detail": "intact" if ok else ("corrupted" if arrived else "not received")}

    def up(self, n: int, how: str) -> dict:
        """Browser → kernel: n bytes as a state update ('state') or a custom message ('custom')."""
        # no kernel execution while the message may be in flight: the page learns the result from the probe
        self.page.evaluate("() => { window.__ws.sent = []; window.__ack = null; }")
        closes = self.ws()["closes"]
        t0 = time.perf_counter()
        expected = self.page.evaluate("([n, how]) => window.__sendUp(n, how)", [n, how])
        deadline = time.monotonic() + 30 + n / MB * 0.5
        received, closed = None, False
        while time.monotonic() < deadline:
            ws = self.ws()
            if ws["closes"] > closes:
                closed = True
                break
            ack = self.page.evaluate("() => window.__ack")
            if ack and ack[0] == how:
                received = ack[1:]
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
        close = self.page.evaluate("() => window.__ws.closes.at(-1) || null") if closed else None
        wire = self.ws()["sent"]
        ok = bool(received) and received == [n, expected]
        detail = "intact" if ok else (f"lost: the server closed the websocket (browser saw {close[0]})" if closed
                                      else "not received")
        if closed:
            self.reload()
        return {"ok": ok, "seconds": seconds, "wire": wire, "closed": closed, "detail": detail}

    def reload(self) -> None:
        """After a dropped connection JupyterLab rebuilds the widget models; start again on a fresh page."""
        self.nb.open()
        self.nb.run_all()
        self.page.wait_for_function("() => window.__sendUp !== undefined", timeout=60_000)


def bisect(probe, lo: int, hi: int, step: int) -> tuple[int, int, list]:
    """Largest size that arrives (lo arrives, hi does not), to within ``step`` bytes."""
    tried = []
    while hi - lo > step:
        mid = (lo + hi) // 2
        r = probe(mid)
        tried.append((mid, r))
        lo, hi = (mid, hi) if r["ok"] else (lo, mid)
    return lo, hi, tried


def measure(down_mb=DOWN_MB, up_mb=UP_MB, bisect_step: int = 64) -> dict:
    root = Path(tempfile.mkdtemp(prefix="vv-limits-"))
    lab = JupyterLab(root)
    lab.start()
    try:
        write_notebook(root / "limits.ipynb", [PROBE])
        with cdp_page(root / ".chromium") as page:
            page.add_init_script(WS_SPY)
            nb = CdpNotebookPage(page, lab, "limits.ipynb")
            nb.open()
            nb.run_all()
            page.wait_for_function("() => window.__sendUp !== undefined", timeout=60_000)
            s = Session(nb)
            browser = page.send("Browser.getVersion")["product"]
            rows = []
            for mb in down_mb:
                r = s.down(mb * MB)
                rows.append(("kernel → browser", "state update", mb * MB, r))
                print(f"  kernel → browser {mb} MB: {r['detail']} in {r['seconds']:.1f} s", file=sys.stderr)
            last_ok, first_bad = 0, None
            for mb in up_mb:
                r = s.up(mb * MB, "state")
                rows.append(("browser → kernel", "state update", mb * MB, r))
                print(f"  browser → kernel {mb} MB: {r['detail']}", file=sys.stderr)
                if r["ok"]:
                    last_ok = mb * MB
                elif first_bad is None:
                    first_bad = mb * MB
            if first_bad is not None:
                lo, hi, tried = bisect(lambda n: s.up(n, "state"), last_ok if last_ok else 1 * MB, first_bad,
                                       bisect_step)
                rows += [("browser → kernel", "state update", n, r) for n, r in tried]
                # a custom message has its own envelope: try it around the same edge
                rows += [("browser → kernel", "custom message", n, s.up(n, "custom")) for n in (lo - 512, lo, hi)]
            return {"rows": rows, "browser": browser}
    finally:
        lab.stop()


def table(result: dict) -> str:
    """The measured sizes as a Markdown table; [1], [2] are the sources :func:`sources` prints."""
    lines = [
        "| direction | message | payload | result | websocket message | time | limit |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for direction, how, n, r in sorted(result["rows"], key=lambda row: (row[0] != "kernel → browser", row[1], row[2])):
        if direction == "kernel → browser":
            cite = "none reached [1][2]" if r["ok"] else "?"
        else:
            cite = "under tornado's 10 MiB [1]" if r["ok"] else "over tornado's 10 MiB [1]"
        lines.append(f"| {direction} | {how} | {n:,} B ({n / MB:.3f} MiB) | {r['detail']} | {r['wire']:,} B "
                     f"| {r['seconds']:.1f} s | {cite} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--down-mb", type=int, nargs="*", default=list(DOWN_MB), help="kernel → browser sizes, MiB")
    ap.add_argument("--up-mb", type=int, nargs="*", default=list(UP_MB), help="browser → kernel sizes, MiB")
    ap.add_argument("--step", type=int, default=64, help="bisection precision in bytes (browser → kernel)")
    args = ap.parse_args()
    result = measure(args.down_mb, args.up_mb, args.step)
    import jupyter_server
    import jupyterlab
    import tornado

    print(f"JupyterLab {jupyterlab.__version__}, jupyter_server {jupyter_server.__version__}, tornado {tornado.version}, "
          f"headless {result['browser']}, one anywidget comm; payload = the binary buffer, websocket message = "
          "the whole message as the browser sent or received it\n")
    print(table(result))
    up = [r for direction, _, _, r in result["rows"] if direction == "browser → kernel"]
    if any(not r["ok"] for r in up):
        print(f"\nbrowser → kernel: the largest websocket message that arrived: "
              f"{max((r['wire'] for r in up if r['ok']), default=0):,} B; the smallest refused: "
              f"{min(r['wire'] for r in up if not r['ok']):,} B; tornado's limit: {10 * MB:,} B")
    print()
    for i, v in enumerate(sources().values(), start=1):
        print(f"[{i}] {v}")


if __name__ == "__main__":
    main()
