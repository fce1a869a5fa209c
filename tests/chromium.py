"""Headless Chromium driven over the DevTools protocol (CDP), for the console's browser tests.

The browser is the distribution's package (``/usr/bin/chromium``; Debian's
``chromium``); the protocol client is ``websocket-client``.  Every call has
a timeout; :meth:`Chromium.close` ends the browser process it started.
"""
import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--mute-audio", "--window-size=1600,1000",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1")


def find_chromium():
    """The path of the distribution's Chromium, or None."""
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(name):
            return name
    return shutil.which("chromium")


class CdpError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with a fresh profile, and a CDP session on its first page.

    Parameters
    ----------
    binary : str
    timeout_s : float
        Bound of every wait.
    """

    def __init__(self, binary=None, timeout_s=30.0):
        import websocket

        binary = binary or find_chromium()
        if binary is None:
            raise FileNotFoundError("no chromium: apt-get install -y chromium")
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="radarcore-chromium-")
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self._ids = itertools.count(1)
        try:
            port = self._devtools_port()
            deadline = time.monotonic() + timeout_s
            while True:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout_s) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if not pages:
                raise CdpError("chromium opened no page")
            self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout_s,
                                                  suppress_origin=True)
        except BaseException:
            self.close()
            raise

    def _devtools_port(self):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CdpError(f"chromium exited with status {self.process.returncode}")
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise CdpError("chromium did not open its DevTools port")

    def call(self, method, **params):
        """One CDP command; its result (events in between are skipped)."""
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            self.ws.settimeout(max(deadline - time.monotonic(), 0.01))
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        raise CdpError(f"{method}: no answer in {self.timeout_s} s")

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}: {result['exceptionDetails'].get('text')} "
                           f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout_s=None, poll_s=0.05):
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(poll_s)
        raise AssertionError(f"the page never showed {what} ({expression})")

    def navigate(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", "a loaded page")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
