"""Helpers for tests that run the app's events through gradio itself, in process (no server, no browser)."""

from __future__ import annotations

import asyncio
import os
from contextlib import contextmanager
from functools import partial

__all__ = ["app_demo", "events", "file_data", "run_event", "by_elem", "cancels_on"]


@contextmanager
def app_demo(models_dir):
    """The app's Blocks built over the models in ``models_dir`` (the app's model folder restored after)."""
    from webapp import common, server

    old = common.MODELS_DIR
    common.MODELS_DIR = models_dir
    try:
        yield server.build_demo({})
    finally:
        common.MODELS_DIR = old


def events(demo, name: str) -> list:
    """The BlockFunctions whose handler is the function ``name`` of a ``webapp`` tab module (possibly bound with
    functools.partial), in order."""
    out = []
    for fn in demo.fns.values():
        f = fn.fn.func if isinstance(fn.fn, partial) else fn.fn
        if getattr(f, "__name__", "") == name:
            out.append(fn)
    assert out, f"no event runs {name}"
    return out


def file_data(path: str) -> dict:
    """An uploaded file as gradio's API passes it."""
    return {"path": path, "orig_name": os.path.basename(path), "meta": {"_type": "gradio.FileData"}}


def run_event(demo, fn, inputs, state):
    return asyncio.run(demo.process_api(fn, inputs, state=state))["data"]


def by_elem(outputs, data) -> dict:
    """An event's outputs by elem_id (else gradio's id)."""
    return {getattr(c, "elem_id", None) or c._id: v for c, v in zip(outputs, data)}


def cancels_on(demo) -> dict[tuple[str, str], set[str]]:
    """What each trigger cancels: {(elem_id, event name): the names of the handlers it cancels} (gradio runs the
    cancelling as an event of its own on the trigger)."""
    out: dict[tuple[str, str], set[str]] = {}
    for fn in demo.fns.values():
        for block_id, event in fn.targets if fn.cancels else []:
            block = demo.blocks.get(block_id)
            key = (getattr(block, "elem_id", None) or type(block).__name__, event)
            out.setdefault(key, set()).update(
                getattr(demo.fns[i].fn, "func", demo.fns[i].fn).__name__ for i in fn.cancels
            )
    return out
