"""Memory soak of the browser app: many analyses in concurrent sessions, then the sessions close.

    .venv/bin/python bench/app_soak.py                                  # 200 analyses, 8 sessions, 480p, 16 frames
    .venv/bin/python bench/app_soak.py --analyses 40 --sessions 4 --size 1080p --frames 32
    .venv/bin/python bench/app_soak.py --analyses 1 --sessions 1 --size 1440p --frames 128 --seconds 10

Starts ``python app.py`` on a free local port (its own GRADIO_TEMP_DIR), renders a test clip of the
astronaut photo panned and zoomed (:func:`detector.data.synthetic.render_clip`; nothing read from a data set),
and waits for the app's warm-up.  Then:

1. one warm-up analysis in a session of its own, which is closed: the libraries an analysis loads
   (torch kernels, CAM) are in; ``rss_start`` is read after it has settled;
2. ``--sessions`` sessions at once, each its own :class:`gradio_client.Client` (its own session and heartbeat, as a
   browser tab), share ``--analyses`` analyses through the page's own Analyse event (``/analyze_page``: the
   session keeps its report, as the page does) with the page's defaults (first CAM method, 16 faces explained),
   each followed by one threshold move (``/relabel_page``: re-labels from the session's stored report);
   with ``--api``, the HTTP API (``/analyze_json``) instead;
3. the clients close (their heartbeat streams end, as when a tab closes: the app's ``unload`` drops the
   session after a grace of DEEPFAKE_APP_SESSION_GRACE_S, 60 s); once the app's log says every session ended,
   and ``--settle`` seconds more, ``rss_after`` is read.

The app's resident memory (VmRSS of the server process and its children, from /proc) is sampled every 0.25 s
throughout: ``rss_peak`` is the highest.  Also checked: every upload was deleted when its session ended, and
SIGTERM (what a container stop sends) shuts the app down cleanly and its downloads folder goes with it.  The work
folder (the clip, the app's log, its upload and temporary folders) is removed at the end when all of that passed,
unless ``--keep``; when something failed it is kept, and its path printed.
Prints a table, then as the last line one JSON object: ``{analyses, ok, failed, sessions, rss_start_mb,
rss_peak_mb, rss_after_mb, after_vs_start, ...}``.  The load average is printed with the figures: the
machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detector.constants import APP_DOWNLOADS_PREFIX  # noqa: E402

SIZES = {"360p": (640, 360), "480p": (640, 480), "720p": (1280, 720), "1080p": (1920, 1080), "1440p": (2560, 1440)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of ``pid`` and all its descendants, in MB."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                m = re.search(r"^VmRSS:\s+(\d+) kB", fh.read(), re.M)
            total += int(m.group(1)) if m else 0
        except OSError:
            continue
        todo += _children(p)
    return total / 1024


class Sampler(threading.Thread):
    """Samples :func:`rss_mb` every ``every`` seconds; ``peak`` is the highest seen."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.last = pid, every, 0.0, 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.last = rss_mb(self.pid)
            self.peak = max(self.peak, self.last)
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def settle(pid: int, seconds: float) -> float:
    """Wait ``seconds``; then the RSS (MB)."""
    time.sleep(seconds)
    return rss_mb(pid)


def wait_steady(pid: int, tolerance_mb: float = 5.0, quiet_s: float = 6.0, limit_s: float = 240.0) -> float:
    """Wait until the RSS has moved less than ``tolerance_mb`` for ``quiet_s`` seconds (the app's background
    warm-up is over); returns it."""
    t0, mark, since = time.time(), rss_mb(pid), time.time()
    while time.time() - t0 < limit_s:
        time.sleep(1.0)
        now = rss_mb(pid)
        if abs(now - mark) > tolerance_mb:
            mark, since = now, time.time()
        elif time.time() - since >= quiet_s:
            return now
    return rss_mb(pid)


def start_app(workdir: Path, env_extra: dict | None = None) -> tuple[subprocess.Popen, str, Path]:
    port = _free_port()
    env = dict(
        os.environ,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(workdir / "gradio"),
        TMPDIR=str(workdir / "tmp"),  # the app's own temporary folders (its downloads), to check they go at exit
        NO_ALBUMENTATIONS_UPDATE="1",
        PYTHONUNBUFFERED="1",
        **(env_extra or {}),
    )
    env.pop("PORT", None)
    (workdir / "tmp").mkdir(exist_ok=True)
    log_path = workdir / "app.log"
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 240
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/config", timeout=2) as r:
                if r.status == 200:
                    return proc, url, log_path
        except OSError:
            pass
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"app.py did not come up:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)


def stop_app(proc: subprocess.Popen) -> bool:
    """SIGTERM, as a container stop sends; True if the app shut down cleanly on it within 20 s (exit status 0: its
    handler closes the server and exits; Python's default for SIGTERM ends with -15).  Else it is killed."""
    proc.terminate()
    try:
        return proc.wait(timeout=20) == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        return False


def one_session(url: str, clip: str, count: int, args, results: list, lock: threading.Lock) -> None:
    """One tab: ``count`` analyses, each followed by a threshold move; then the tab closes."""
    from gradio_client import Client, handle_file

    client = Client(url, download_files=False, verbose=False)
    try:
        for i in range(count):
            t = time.perf_counter()
            try:
                if args.api:  # the HTTP API instead: the CLI's JSON report, nothing kept by the session
                    data = client.predict(
                        handle_file(clip), args.frames, None, args.cam, args.threshold, api_name="/analyze_json"
                    )
                    ok = data.get("label") in ("fake", "real", "uncertain", "unknown")
                    with lock:
                        results.append({"ok": ok, "seconds": time.perf_counter() - t, "error": "" if ok else str(data)})
                    continue
                out = client.predict(
                    handle_file(clip),
                    None,
                    args.frames,
                    None,  # the default model
                    args.cam,
                    args.threshold,  # the slider's value as the page opens: the model card's threshold
                    "confident",
                    16,
                    "time",
                    "jet",
                    api_name="/analyze_page",
                )
                verdict = out[0]
                moved = client.predict(0.05 + 0.9 * ((i % 7) / 7), 1, "time", "jet", api_name="/relabel_page")
                ok = "verdict" in str(verdict) and "verdict" in str(moved[0])
                err = "" if ok else f"unexpected output: {str(verdict)[:120]}"
            except Exception as e:
                ok, err = False, f"{type(e).__name__}: {str(e)[:200]}"
            with lock:
                results.append({"ok": ok, "seconds": time.perf_counter() - t, "error": err})
    finally:
        client.close()


def page_threshold(url: str) -> float:
    """The threshold slider's value as the page opens (the default model card's threshold)."""
    with urllib.request.urlopen(url + "/config", timeout=10) as r:
        config = json.load(r)
    for c in config["components"]:
        if c.get("props", {}).get("elem_id") == "threshold":
            return float(c["props"]["value"])
    return 0.5


def ended_sessions(log_path: Path) -> int:
    return len(re.findall(r"session ended:", log_path.read_text()))


def wait_ended(log_path: Path, count: int, limit_s: float = 180.0) -> float:
    """Wait until the app's log says ``count`` sessions ended (a client's heartbeat stream ends at its next beat,
    up to 15 s after ``close``; the app then keeps a closed tab's state for a grace of 60 s); returns the seconds
    waited."""
    t0 = time.time()
    while ended_sessions(log_path) < count and time.time() - t0 < limit_s:
        time.sleep(0.5)
    return time.time() - t0


def soak(args, env: dict | None = None) -> dict:
    """Run the soak (``args``: the command line's options; ``env``: more environment for the app); its figures."""
    from detector.data.synthetic import render_clip

    work = Path(tempfile.mkdtemp(prefix="app_soak_"))
    size = SIZES.get(args.size) or tuple(int(v) for v in args.size.lower().split("x"))
    clip = str(work / f"soak_{size[0]}x{size[1]}.mp4")
    render_clip(clip, seconds=args.seconds, fps=25, size=size)
    proc, url, log_path = start_app(work, env)
    sampler = Sampler(proc.pid)
    try:
        rss_ready = wait_steady(proc.pid)
        args.threshold = page_threshold(url)
        sampler.start()
        warm: list = []
        t0 = time.perf_counter()
        one_session(url, clip, 1, args, warm, threading.Lock())
        wait_ended(log_path, 1)
        rss_start = settle(proc.pid, args.settle)
        peak_before = sampler.peak
        sampler.peak = 0.0  # the soak's own peak from here
        results: list = []
        lock = threading.Lock()
        shares = [args.analyses // args.sessions + (i < args.analyses % args.sessions) for i in range(args.sessions)]
        threads = [
            threading.Thread(target=one_session, args=(url, clip, n, args, results, lock)) for n in shares if n > 0
        ]
        t1 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        soak_s = time.perf_counter() - t1
        rss_closed = rss_mb(proc.pid)
        close_s = wait_ended(log_path, 1 + len(threads))
        rss_after = settle(proc.pid, args.settle)
        peak_soak = sampler.peak
        rss_peak = max(peak_soak, peak_before)
    finally:
        sampler.stop()
        stopped = stop_app(proc)
    log_text = log_path.read_text()
    ended = len(re.findall(r"session ended:", log_text))
    last = re.findall(r"session ended: .*?(\d+) session\(s\) with state, (\d+) file\(s\) held", log_text)
    uploads_left = sorted(p.name for p in (work / "gradio").rglob(Path(clip).name))
    # the app removes its downloads folder at exit
    downloads_left = sorted(p.name for p in (work / "tmp").glob(f"{APP_DOWNLOADS_PREFIX}*"))
    ok = sum(r["ok"] for r in results)
    errors = sorted({r["error"] for r in results if not r["ok"]})
    secs = sorted(r["seconds"] for r in results) or [0.0]
    clean = ok == len(results) and stopped and not uploads_left and not downloads_left
    if clean and not args.keep:  # the clip, the app's log, its uploads: kept if anything failed
        shutil.rmtree(work, ignore_errors=True)
    return {
        "analyses": len(results),
        "ok": ok,
        "failed": len(results) - ok,
        "sessions": len(threads),
        "rss_ready_mb": round(rss_ready, 1),
        "rss_start_mb": round(rss_start, 1),
        "rss_peak_mb": round(rss_peak, 1),
        "rss_peak_warmup_mb": round(peak_before, 1),  # the first analysis of the process
        "rss_peak_soak_mb": round(peak_soak, 1),  # the sessions' analyses
        "rss_closed_mb": round(rss_closed, 1),
        "rss_after_mb": round(rss_after, 1),
        "after_vs_start": round(rss_after / rss_start, 3),
        "sessions_ended": ended,
        "sessions_with_state": int(last[-1][0]) if last else None,
        "files_held": int(last[-1][1]) if last else None,
        "uploads_left": len(uploads_left),
        "downloads_left": len(downloads_left),
        "stopped_by_sigterm": stopped,
        "warmup_ok": bool(warm and warm[0]["ok"]),
        "warmup_s": round(t1 - t0, 1),
        "soak_s": round(soak_s, 1),
        "analysis_s_median": round(secs[len(secs) // 2], 2),
        "clip": f"{size[0]}x{size[1]}, {args.seconds:g} s at 25 fps",
        "frames": args.frames,
        "cam": args.cam,
        "endpoint": "/analyze_json" if args.api else "/analyze_page + /relabel_page",
        "settle_s": args.settle,
        "close_s": round(close_s, 1),
        "errors": errors[:5],
        "load": [round(v, 2) for v in os.getloadavg()],
        "work": str(work),
        "work_kept": work.exists(),
    }


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analyses", type=int, default=200, help="analyses in all (default 200)")
    ap.add_argument("--sessions", type=int, default=8, help="concurrent sessions (default 8)")
    ap.add_argument("--frames", type=int, default=16, help="frames sampled per analysis (default 16)")
    ap.add_argument("--size", default="480p", help=f"clip size: {', '.join(SIZES)} or WxH (default 480p)")
    ap.add_argument("--seconds", type=float, default=6.0, help="clip length (default 6 s)")
    ap.add_argument("--cam", default="gradcam", help='CAM method, or "none (faster)" (default gradcam)')
    ap.add_argument("--api", action="store_true", help="call the HTTP API (/analyze_json) instead of the page's events")
    ap.add_argument(
        "--settle", type=float, default=10.0, help="seconds to wait after the sessions ended before reading RSS"
    )
    ap.add_argument(
        "--keep", action="store_true", help="keep the work folder (the clip, the app's log, its uploads); else removed"
    )
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    load0 = os.getloadavg()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", flush=True)
    r = soak(args)
    rows = [
        ("analyses ok / run", f"{r['ok']} / {r['analyses']} in {r['sessions']} sessions ({r['soak_s']:.0f} s)"),
        ("clip", f"{r['clip']}, {r['frames']} frames, CAM {r['cam']}"),
        ("RSS when ready (warm-up done)", f"{r['rss_ready_mb']:.0f} MB"),
        ("RSS start (after one analysis, its session closed)", f"{r['rss_start_mb']:.0f} MB"),
        ("RSS peak (warm-up analysis / soak)", f"{r['rss_peak_warmup_mb']:.0f} / {r['rss_peak_soak_mb']:.0f} MB"),
        ("RSS when the sessions closed", f"{r['rss_closed_mb']:.0f} MB"),
        (
            f"RSS {r['settle_s']:g} s after the app ended the sessions ({r['close_s']:.0f} s after close)",
            f"{r['rss_after_mb']:.0f} MB ({r['after_vs_start']:.2f} x start)",
        ),
        ("sessions ended (app log) / with state left", f"{r['sessions_ended']} / {r['sessions_with_state']}"),
        ("uploads left on disk", str(r["uploads_left"])),
        ("downloads folders left after SIGTERM", f"{r['downloads_left']} (ended by it: {r['stopped_by_sigterm']})"),
    ]
    print("\n| | |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    if r["errors"]:
        print("errors:", *r["errors"], sep="\n  ")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in r['load'])}")
    if r["work_kept"]:
        print(f"work folder kept: {r['work']}")
    print(json.dumps(r))
    return 0 if r["failed"] == 0 and r["analyses"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
