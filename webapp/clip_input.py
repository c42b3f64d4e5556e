"""A tab's own video or photo (the failure lab's, the compare view's): the Video and Photo slots, a button that takes
the first tab's file, and the line that names the file, or says why it cannot be analysed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from webapp import session_files
from webapp.common import _keep_one, example_list, failure_reason, pick_media
from webapp.photo_input import photo_input

if TYPE_CHECKING:
    from webapp.analyse_tab import AnalyseTab

__all__ = ["ClipInput", "clip_input", "on_clip_from_first_tab", "takes_another_file", "changed_media", "media_note"]


@dataclass
class ClipInput:
    """A tab's own video or photo (the lab's, the compare view's): :func:`clip_input`'s components."""

    prefix: str
    video: gr.Video
    photo: gr.Image
    tabs: gr.Tabs
    use_first: gr.Button
    note: gr.Markdown
    examples: list  # the video's example lists (gr.Examples), picked by a click
    asked: gr.State  # (video, photo, model) of the run last asked for (common.check_and_remember, common.not_run)
    stop: gr.Button  # hidden: clicked by a script where "use the first tab's file" brings another file

    @property
    def media(self) -> list:
        """The two slots, as a handler takes them (one holds a file at a time)."""
        return [self.video, self.photo]

    def follow_first_tab(self, tab: gr.Tab, analyse: AnalyseTab) -> None:
        """Take the first tab's video or photo on the button, and when ``tab`` is opened holding nothing
        (:func:`on_clip_from_first_tab`)."""
        first, filled = [*self.media, analyse.video, analyse.photo], [*self.media, self.tabs, self.note]
        quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
        # the run going for the old file stops only where the button brings another (a browser audit: pressed with the
        # same file there, it stopped the run with "Not run" and no reason); gradio cancels on an event's own
        # trigger only, not on a step after a check, so the check's success clicks the off-screen stop button
        # preprocess=False: the files' names are enough (nothing copied or converted for the check)
        taken = self.use_first.click(takes_another_file, first, None, preprocess=False, **quick)
        stop = f"() => document.getElementById('{self.prefix}-stop')?.click()"
        taken.success(None, js=stop, api_visibility="private")
        self.use_first.click(partial(on_clip_from_first_tab, self.prefix, asked=True), first, filled, **quick)
        tab.select(partial(on_clip_from_first_tab, self.prefix), first, filled, **quick)

    def user_changes(self) -> list:
        """The user's own changes of file: an upload or a clear in either slot, an example picked, the "use the first
        tab's file" button where it brings another file (:attr:`stop`).  Not the slots' change events, which also
        fire when a handler sets a slot, and which the browser can deliver after a button was pressed (a flaky
        browser test: a late change event cancelled the lab's run, "Not run" with no reason; the first tab had met
        the same, see :func:`webapp.analyse_tab._wire_analyse_tab`)."""
        return [self.video.input, self.photo.input, *(ex.dataset.click for ex in self.examples), self.stop.click]

    def on_new_file(self, fn, outputs: list, cancels: list) -> None:
        """``fn(video, photo, slot=...)`` on a new file in either slot (upload, example, the first tab's, or none),
        told which slot changed (see :func:`changed_media`); the note first among ``outputs``.  The runs still going
        for the old file are cancelled on the user's own change (:meth:`user_changes`)."""
        quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
        for slot, changed in (("video", self.video.change), ("photo", self.photo.change)):
            changed(partial(fn, slot=slot), self.media, [self.note, *outputs], **quick)
        for change in self.user_changes():
            change(None, None, None, cancels=cancels, **quick)


def clip_input(prefix: str, examples: dict) -> ClipInput:
    """A tab's own video or photo (the lab's, the compare view's), one at a time as in the first tab: the Video and
    Photo slots, a button to take the first tab's file, the line that names it, and the example clips; elem_ids
    ``<prefix>-video``, ``-photo``, ``-use-first``, ``-note``, ``-stop``."""
    example_sets = []
    with gr.Tabs(elem_id=f"{prefix}-media") as tabs:
        with gr.Tab("Video", id=f"{prefix}-video-tab"):
            video = gr.Video(label="Video", sources=["upload"], height=220, elem_id=f"{prefix}-video")
            if examples:
                example_sets.append(example_list(video, examples))
        with gr.Tab("Photo", id=f"{prefix}-photo-tab"):
            photo = photo_input(height=220, elem_id=f"{prefix}-photo")
    with gr.Row():
        use_first = gr.Button(
            "Use the video or photo from the first tab", size="sm", variant="secondary", elem_id=f"{prefix}-use-first"
        )
    note = gr.Markdown(elem_id=f"{prefix}-note")
    asked = gr.State(None)
    stop = gr.Button("Stop the run on the previous file", elem_id=f"{prefix}-stop", elem_classes=["offscreen-stop"])
    quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    video.change(_keep_one, [video, photo], [photo], **quick)
    photo.change(_keep_one, [photo, video], [video], **quick)
    return ClipInput(prefix, video, photo, tabs, use_first, note, example_sets, asked, stop)


def on_clip_from_first_tab(prefix: str, own_video, own_photo, first_video, first_photo, asked: bool = False):
    """Fill a tab of its own input (:func:`clip_input` ``prefix``: the lab, the compare view) with the first tab's
    video or photo: on its button (``asked``), or when the tab is opened holding nothing.  Returns (video, photo,
    the input's tabs, note): the file goes in its slot, shown, and the other slot is emptied; ``gr.skip()`` where
    nothing changes."""
    from webapp.lab import clip_from_first_tab

    clip, note = clip_from_first_tab(pick_media(own_video, own_photo), first_video, first_photo, asked=asked)
    note = note or gr.skip()
    if clip is None:
        return gr.skip(), gr.skip(), gr.skip(), note
    # the other slot emptied here, not left to _keep_one's round trip (meanwhile both would hold a file)
    if clip == first_photo:  # (an animated gif from the first tab's Photo slot goes in the Photo slot)
        return None, clip, gr.Tabs(selected=f"{prefix}-photo-tab"), note
    return clip, None, gr.Tabs(selected=f"{prefix}-video-tab"), note


def takes_another_file(own_video, own_photo, first_video, first_photo) -> None:
    """Passes where "use the first tab's file" puts another file in the tab; else a silent gr.Error, which stops
    what follows it (:meth:`ClipInput.follow_first_tab`).  Each value a path, or gradio's file data (a dict with
    its ``path``) when the event skips preprocessing.  The same file is the same name: where ffmpeg is installed,
    gradio gives a video browsers cannot play (an .avi, an MPEG-4 Part 2 mp4) to a slot as an mp4 of the same name
    in another folder of its cache (a review)."""
    own_video, own_photo, first_video, first_photo = (
        v.get("path") if isinstance(v, dict) else v for v in (own_video, own_photo, first_video, first_photo)
    )
    first, own = first_photo or first_video, pick_media(own_video, own_photo)
    if not first or (own and Path(first).stem == Path(own).stem):
        raise gr.Error("the tab keeps its file", visible=False, print_exception=False)


def changed_media(video, photo, slot: str) -> str | None:
    """The file a tab holds after its ``slot`` ("video" or "photo") changed: that slot's file, or the other's where
    it was emptied.  Until :func:`_keep_one` empties the other slot, both hold one (a review: a video put in beside
    an old photo was named, and held, as the old photo for that moment)."""
    return (video or photo or None) if slot == "video" else (photo or video or None)


def media_note(video, photo, slot: str) -> str:
    """The line under a tab's Video and Photo slots after ``slot`` changed (:func:`changed_media`): the file's name,
    or at once why it cannot be analysed, as the first tab says on upload (a browser check: the lab and compare
    view said so only when a button was pressed).  The file is held for the session (see
    :func:`_hold_for_session`)."""
    from webapp.lab import clip_note

    media = changed_media(video, photo, slot)
    session_files._hold_for_session(media)
    if not media:
        return ""
    photo_slot = media == photo
    reason = failure_reason(None if photo_slot else media, None, media if photo_slot else None)
    return f"⚠ Cannot be analysed: {reason}" if reason else clip_note(media)
