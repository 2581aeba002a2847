"""Screenshot a notebook as a learner sees it in JupyterLab, in headless Chromium.

    .venv/bin/python tools/jupyterlab_shot.py notebooks/01_rnn_from_scratch.ipynb shot.png \
        --run-until "from labhelpers import" [--env LAB_QUICK=1]

Starts JupyterLab from this Python on a free port with a token (settings and workspace in a
throwaway folder, so the news pop-up and old layouts stay away), opens the notebook in Chromium
through the DevTools protocol, runs its cells up to and including the first whose source contains
the --run-until text, scrolls that cell to the top and saves a PNG. It prints a JSON summary: the
cell run, and every stderr stream and error those cells produced (what shows in red). The kernel
gets a learner's environment: TF_CPP_MIN_LOG_LEVEL is removed unless --env sets it.

Other scripts and tests reuse its parts: lab_session (JupyterLab and a tab), open_notebook,
Page.evaluate (window.seqlabPanel is the open notebook's panel) and screenshot.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--remote-allow-origins=*", "--hide-scrollbars"]
# Lab settings: no news or update toasts on the picture, and never an autosave into the notebook.
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                {"fetchNews": "false", "checkForUpdates": False},
                "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False}}

# The notebook panel this tool opened (window.seqlabPanel), set by OPEN_JS.
OPEN_JS = """(async () => {
  const app = window.jupyterapp;
  await app.restored;
  window.seqlabPanel = await app.commands.execute('docmanager:open', {path: %(path)s});
  await window.seqlabPanel.context.ready;
  await window.seqlabPanel.sessionContext.ready;
  return true;
})()"""

RUN_JS = """(async () => {
  const app = window.jupyterapp;
  const panel = window.seqlabPanel;
  const nb = panel.content;
  const k = nb.widgets.findIndex(c => c.model.sharedModel.getSource().includes(%(text)s));
  if (k < 0) return {error: 'no cell contains ' + %(text)s};
  if (%(run)s) {
    nb.activeCellIndex = 0;
    nb.deselectAll();
    nb.extendContiguousSelectionTo(k);
    await app.commands.execute('notebook:run-cell');
  }
  nb.deselectAll();
  nb.activeCellIndex = k;
  await nb.scrollToItem(k, 'start');
  const red = nb.widgets.slice(0, k + 1).flatMap((c, i) =>
    (c.model.type === 'code' ? c.model.outputs.toJSON() : [])
      .filter(o => o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'))
      .map(o => ({cell: i, kind: o.output_type === 'error' ? 'error: ' + o.ename : 'stderr',
                  text: o.output_type === 'error' ? o.evalue : o.text})));
  return {cell: k, red: red};
})()"""

READY_JS = """(() => {
  const session = window.seqlabPanel.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
})()"""

APP_JS = "!!(window.jupyterapp && window.jupyterapp.commands)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, step: float = 0.5):
    """predicate()'s first truthy value, polled until timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def http_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def process(command: list[str], env: dict, log: Path):
    """A child process, its output in log, terminated on exit."""
    with log.open("wb") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def start_lab(stack: ExitStack, scratch: Path, root: Path, env: dict) -> tuple[str, str]:
    """Start JupyterLab on root; returns its base URL and token."""
    settings = scratch / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = {**env, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "workspaces")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", "--ServerApp.ip=127.0.0.1"]
    if os.getuid() == 0:
        command.append("--allow-root")
    stack.enter_context(process(command, env, scratch / "jupyterlab.log"))
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_json(f"{base}/api/status?token={token}"), 120, "JupyterLab")
    return base, token


class Page:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, ws_url: str):
        self.socket = websocket.create_connection(ws_url, timeout=600, suppress_origin=True)
        self.ids = itertools.count(1)

    def call(self, method: str, **params):
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")


def open_page(stack: ExitStack, scratch: Path, size: tuple[int, int]) -> Page:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium not found: apt-get install -y chromium")
    port = free_port()
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={scratch / 'chromium'}",
               f"--remote-debugging-port={port}", f"--window-size={size[0]},{size[1]}", "about:blank"]
    stack.enter_context(process(command, dict(os.environ), scratch / "chromium.log"))
    tabs = wait_for(lambda: [t for t in http_json(f"http://127.0.0.1:{port}/json/list") if t["type"] == "page"],
                    60, "Chromium")
    page = Page(tabs[0]["webSocketDebuggerUrl"])
    stack.callback(page.socket.close)
    page.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1, mobile=False)
    return page


def kernel_env(assignments: list[str]) -> dict:
    """A learner's environment: ours without TF_CPP_MIN_LOG_LEVEL, plus NAME=VALUE assignments."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(item.split("=", 1) for item in assignments)
    return env


@contextmanager
def lab_session(root: Path, env: dict, size=(1400, 1000)):
    """JupyterLab on root and a Chromium tab showing it; yields the Page."""
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="labshot-")))
        base, token = start_lab(stack, scratch, root, env)
        page = open_page(stack, scratch, size)
        page.call("Page.navigate", url=f"{base}/lab?reset&token={token}")
        wait_for(lambda: page.evaluate(APP_JS), 120, "JupyterLab in the browser")
        yield page


def open_notebook(page: Page, relative: Path, timeout: float = 600) -> None:
    """Open a notebook (path relative to the lab's root) and wait until its kernel is idle."""
    page.evaluate(OPEN_JS % {"path": json.dumps(relative.as_posix())})
    wait_for(lambda: page.evaluate(READY_JS), timeout, "the notebook's kernel")


def screenshot(page: Page, png: Path) -> None:
    png.write_bytes(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))


def shoot(notebook: Path, png: Path, run_until: str, run: bool, root: Path, env: dict,
          size=(1400, 1000), timeout: float = 600) -> dict:
    """Open notebook (a path under root) in JupyterLab, maybe run it to run_until, save png."""
    with lab_session(root, env, size) as page:
        open_notebook(page, notebook.resolve().relative_to(root.resolve()), timeout)
        summary = page.evaluate(RUN_JS % {"text": json.dumps(run_until), "run": json.dumps(run)})
        if "error" in summary:
            raise SystemExit(summary["error"])
        time.sleep(1.5)  # let outputs and the scroll settle before the picture
        screenshot(page, png)
    return {"notebook": str(notebook), "png": str(png), **summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--run-until", default="from labhelpers import",
                        help="run cells up to the first whose source contains this text, and show it")
    parser.add_argument("--no-run", action="store_true", help="only scroll to that cell, run nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="JupyterLab's root folder (holds the notebook)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="kernel environment")
    parser.add_argument("--size", default="1400x1000", help="window WIDTHxHEIGHT in pixels")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the kernel and the run")
    args = parser.parse_args(argv)
    size = tuple(int(n) for n in args.size.split("x"))
    summary = shoot(args.notebook, args.png, args.run_until, not args.no_run, args.root, kernel_env(args.env),
                    size, args.timeout)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
