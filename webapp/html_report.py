"""A shareable report: ONE self-contained HTML file of an analysis (no server, no network, no script).

    html = report_html(report, card)              # the page as a string
    path = write_html_report(report, card, dir)   # <video>_report.html in dir

The file holds the verdict (label, score, threshold, the uncertain band and what it means), the warnings,
the timeline of per-frame scores (a small matplotlib PNG; plotly would need its CDN), the frame with the
highest-scoring face, the face crops with their CAM overlays (most fake first, at most ``max_faces``), the
per-frame table, a summary of the model card (how its threshold was chosen) and the date.  Every image is
inline (``data:image/...;base64``), the CSS is inline, nothing is fetched (a Content-Security-Policy says
so), and the input appears by its base name only, never by a path on the server.  Text that mentions a web
address (a model card's notes) is kept as plain text without its ``http(s)://`` scheme, so the file holds
no URL a browser could follow.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
from datetime import datetime

import cv2
import numpy as np

from detector.constants import SMALLEST_FACE_PX
from detector.inference.report import (
    RULE_TEXT,
    FaceResult,
    Report,
    covered_made_uncertain,
    held_back,
    is_cut_out,
    rule_text,
    score_text,
    segment_made_uncertain,
    text_made_uncertain,
    threshold_by_hand,
)
from explain import DEFAULT_HEAT_MAP
from webapp.cards import GLOSSARY, calibration_rule, card_figures, covered_summary, for_readers, many_faces_summary
from webapp.faces import HEAT_MAP_LOOKS, crop_note, draw_boxes, face_label, face_tile, faces_text
from webapp.session import frame_scale
from webapp.tables import stem, table_value
from webapp.verdict import headline, is_photo, verdict_html

MAX_FACES = 24
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body{font-family:Inter,system-ui,-apple-system,'Segoe UI',sans-serif;max-width:960px;margin:24px auto;
padding:0 16px;color:#222;line-height:1.45;background:#fff}
h1{font-size:24px;margin:0 0 2px 0}
h2{font-size:18px;margin:26px 0 8px 0;border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#555;font-size:14px}.note{font-size:14px;color:#333}.small{font-size:12.5px;color:#555}
.faces{display:flex;flex-wrap:wrap;gap:12px}.faces figure{margin:0;width:300px;max-width:100%}
.faces img{width:100%;height:auto;display:block;border-radius:4px}
.faces figcaption{font-size:12.5px;color:#333;margin-top:3px}
img.wide{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;font-size:12.5px;display:block;max-width:100%;overflow-x:auto}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:3px 14px;font-size:14px;margin:0}
dt{font-weight:600;color:#444}dd{margin:0;min-width:0;overflow-wrap:anywhere}
"""


def _no_scheme(text: str) -> str:
    """``text`` with every ``http://`` / ``https://`` dropped (the address stays readable, nothing to follow)."""
    return re.sub(r"(?i)\bhttps?://", "", text)


def _esc(text) -> str:
    return html.escape(_no_scheme(str(text)))


def data_uri(image: np.ndarray, fmt: str = "jpeg", quality: int = 88) -> str:
    """An RGB uint8 image as a ``data:image/jpeg|png;base64,...`` URI."""
    bgr = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_RGB2BGR)
    if fmt == "png":
        ok, buf = cv2.imencode(".png", bgr)
    else:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("could not encode the image")
    return f"data:image/{'png' if fmt == 'png' else 'jpeg'};base64,{base64.b64encode(buf.tobytes()).decode('ascii')}"


def timeline_png(report: Report, width: float = 8.5, height: float = 2.8, dpi: int = 100) -> bytes:
    """The fake score of each sampled frame over time as a PNG (matplotlib, no pyplot: thread-safe):
    one line per face identity, the threshold, the uncertain band, grey crosses where no face was found, grey rings
    where the faces found were too small to judge, a red column over a stretch of strongly fake frames that keeps the
    clip from "real" (:func:`webapp.plots.stretch_span`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from webapp.plots import FAKE_RED, IDENTITY_COLOURS, UNCERTAIN_AMBER, stretch_span

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    t = report.threshold
    duration = max([fr.time for fr in report.frames] + [report.video_info.get("duration", 0.0) or 0.0, 0.1])
    ax.axhspan(t, 1.05, color=FAKE_RED, alpha=0.06, lw=0)
    if report.uncertain and float(report.uncertain[0]) < t:
        ax.axhspan(float(report.uncertain[0]), t, color=UNCERTAIN_AMBER, alpha=0.2, lw=0, label="uncertain band")
    ax.axhline(t, color=FAKE_RED, ls="--", lw=1.3, label=f"threshold {t:.3f}")
    span = stretch_span(report)
    if span:
        ax.axvspan(span[0], span[1], color=FAKE_RED, alpha=0.12, lw=0, label="strongly fake stretch")
    for k, ident in enumerate(sorted({f.identity for f in report.faces})):
        pts = [(fr.time, f.score) for fr in report.frames for f in fr.faces if f.identity == ident]
        xs, ys = zip(*pts)
        colour = IDENTITY_COLOURS[k % len(IDENTITY_COLOURS)]
        ax.plot(xs, ys, "-o", color=colour, ms=4, lw=1.6, label=f"face {ident}")
    missing = [fr.time for fr in report.frames if not fr.faces and not fr.too_small]
    if missing:
        ax.plot(missing, [-0.03] * len(missing), "x", color="#888", ms=6, label="no face")
    small = [fr.time for fr in report.frames if not fr.faces and fr.too_small]
    if small:
        ax.plot(small, [-0.03] * len(small), "o", mfc="none", color="#888", ms=6, label="face too small to judge")
    ax.set_xlim(-0.02 * duration, duration * 1.02)
    ax.set_ylim(-0.07, 1.05)
    ax.set_xlabel("time in the clip (s)")
    ax.set_ylabel("fake score")
    ax.grid(color="#eee")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no tool name or web address in the file
    return buf.getvalue()


def _model_section(report: Report, card) -> str:
    if card is None:
        return f'<p class="note">The model card of <code>{_esc(report.model)}</code> was not available.</p>'
    rows = [
        ("Name", f"<code>{_esc(card.name)}</code>"),
        ("Architecture", f"{_esc(card.architecture)}, input {int(card.input_size)} px"),
        ("Threshold on the card", f"{float(card.threshold):.3f}"),
        (
            "Uncertain band",
            f"{float(card.uncertain[0]):.3f} to {float(card.uncertain[1]):.3f}" if card.uncertain else "none",
        ),
        ("How the threshold was chosen", _esc(calibration_rule(card) or "not recorded on the card")),
    ]
    for kind, tiers in (("videos", card.small_video_tiers), ("photos", card.small_photo_tiers)):
        for small in tiers:  # thresholds of its own for videos (photos) smaller than the training clips (photos)
            rows.append(
                (
                    f"Threshold for {kind} under {int(small['below'])} px",
                    f"{float(small['threshold']):.3f}: {_esc(small.get('rule') or 'rule not recorded')}",
                )
            )
    many = many_faces_summary(card)
    if many:
        rows.append(("Thresholds for photos with several faces", _esc(many)))
    covered = covered_summary(card)
    if covered:
        rows.append(("Threshold for covered faces", _esc(covered)))
    data = (card.trained or {}).get("data") or (card.trained or {}).get("dataset")
    if data:
        data = ", ".join(map(str, data)) if isinstance(data, list) else data
        rows.append(("Data (training and validation)", _esc(for_readers(data))))
    shown = card_figures(card)
    rows.append(("Validation", "<br>".join(_esc(f) for f in shown) if shown else "no validation metrics on the card"))
    if card.notes:
        rows.append(("Notes", _esc(for_readers(card.notes))))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl>{body}</dl><p class="small">{_esc(GLOSSARY)}</p>'


def _band_text(report: Report) -> str:
    """The threshold and the uncertain band in words (shown whatever the label)."""
    t = report.threshold
    what = "The photo's score (its most fake face's)" if is_photo(report) else "A video score"
    second = report.second_opinion
    if second and second.get("label") != "fake" and report.label == "uncertain" and report.score >= t:
        # over the threshold: the second opinion's say (not where it says fake too: another rule's doing)
        return (
            f"{what} at or above the threshold {t:.3f} is called <b>fake</b>, unless the faces look colour-filtered "
            f"and {_esc(second['model'])}, trained with such filters, does not call them fake: then, as here, "
            "<b>uncertain</b>. Scores under the threshold follow the model's own band."
        )
    if is_cut_out(report) and report.label == "uncertain" and report.score >= t:  # a cut-out: never fake
        return (
            f"{what} at or above the threshold {t:.3f} is called <b>fake</b>, unless the photo is a cut-out (its "
            "background removed): then, as here, <b>uncertain</b>. Scores under the threshold follow the model's own "
            "band."
        )
    if text_made_uncertain(report):  # faces under text: never fake on their own
        return (
            f"{what} at or above the threshold {t:.3f} is called <b>fake</b>, unless the faces that make it so had "
            "text laid over them (a caption) and no faces free of text score over it on their own"
            + (
                f" (nor the score reaches {float(report.text_threshold):.3f}, the threshold for faces under text)"
                if report.text_threshold is not None
                else ""
            )
            + ": then, as here, <b>uncertain</b>. Scores under the threshold follow the model's own band."
        )
    if covered_made_uncertain(report):  # covered faces: fake only from their own threshold
        return (
            f"{what} at or above the threshold {t:.3f} is called <b>fake</b>, unless the faces that make it so look "
            f"covered (something before the mouth and chin) and score under {float(report.covered_threshold):.3f}, "
            "the threshold set on covered real faces, and no uncovered faces score over it on their own: then, as "
            "here, <b>uncertain</b>. Scores under the threshold follow the model's own band."
        )
    seg = segment_made_uncertain(report)
    if seg:  # under the band by its score, uncertain for a stretch of strongly fake frames (a review)
        return (
            f"{what} at or above the threshold {t:.3f} is called <b>fake</b>; this one is under it, and under the "
            f"uncertain band, but {seg['frames']} of one face's sampled frames in a row ({seg['start']:.1f} to "
            f"{seg['end']:.1f} s) score over {seg['over']:.3g}, as in a partly edited clip, so it is called "
            "<b>uncertain</b>, not real."
        )
    if report.uncertain and threshold_by_hand(report):  # the band measured on real faces ends at the card's
        low = float(report.uncertain[0])
        return (
            f"{what} at or above the threshold {t:.3f}, set by hand, is called <b>fake</b>. Scores from {low:.3f}, "
            "where the model's uncertain band begins, up to that threshold are called <b>uncertain</b> (neither "
            f"fake nor vouched real); below {low:.3f}: <b>real</b>. The model's own threshold and band, chosen on "
            "real faces it never trained on, are in the warning above."
        )
    if report.uncertain:
        low = float(report.uncertain[0])
        return (
            f"{what} at or above the threshold {t:.3f} is called <b>fake</b>. Scores from {low:.3f} up to the "
            f"threshold form the model's <b>uncertain band</b>: real faces of its validation set also score there, "
            "so in this band the model cannot tell a fake from a real face and says <b>uncertain</b> (it neither "
            f"calls it fake nor vouches that it is real). Below {low:.3f}: <b>real</b>."
        )
    return (
        f"{what} at or above the threshold {t:.3f} is called <b>fake</b>, below it <b>real</b>. "
        "No uncertain band applies (the model card has none, or the threshold was set below the band's lower edge)."
    )


def _faces_of(report: Report, max_faces: int) -> list[tuple[int, FaceResult]]:
    """(frame position, face), most fake first (earlier first on ties), at most ``max_faces``."""
    entries = [(pos, f) for pos, fr in enumerate(report.frames) for f in fr.faces]
    entries.sort(key=lambda e: (-e[1].score, report.frames[e[0]].time))
    return entries[: max(0, int(max_faces))]


def _faces_section(report: Report, max_faces: int, colours: str = DEFAULT_HEAT_MAP) -> str:
    entries = _faces_of(report, max_faces)
    if not entries:
        if report.all_too_small:  # found, but none large enough to score or explain
            return (
                f'<p class="note">The faces found were all too small to judge (under {SMALLEST_FACE_PX} px across): '
                "none was scored or explained.</p>"
            )
        return '<p class="note">No face was found, so there is nothing to show here.</p>'
    cam_on = report.cam_method is not None
    total = len(report.faces)
    hot = HEAT_MAP_LOOKS[colours].hot
    intro = (
        f"Each face as the model saw it, beside its <b>{_esc(report.cam_method)}</b> heat map ({hot} = pushed "
        f"towards fake). Each map is scaled to its own strongest spot, so on a face scored real the {hot} is only "
        f"where the model leaned most towards fake: <b>{hot} is not evidence of a fake</b>. Only the most fake faces "
        "are explained; the others show a grey panel."
        if cam_on
        else "The explanation (CAM) was off for this analysis: the crops are shown without heat maps."
    )
    if any(f.inside is not None for _, f in entries):
        intro += (
            " Hatched, beyond a dashed line: where the face's square runs past the picture's edge (a photo's border "
            "mirrored outwards, black beyond a video frame): the model saw it, the picture does not hold it."
        )
    if any(f.straightened for _, f in entries):  # a browser check: the report alone never said why a face was turned
        intro += (
            " A head tilted by 10 to 45 degrees is cut turned upright, as the models learned faces: its tile shows it "
            "so, and its caption says by how much."
        )
    if any(f.text_over for _, f in entries):
        tt = getattr(report, "text_threshold", None)
        intro += (
            " Text laid over a face (a caption or a watermark) is said in its tile's caption: the models never trained "
            "on faces under text, and read its letters as a sign of a fake, so a face under text is never called fake "
            + ("on its own." if tt is None else f"on its own under {float(tt):.3f}, the model's threshold for them.")
        )
    if any(getattr(f, "covered_under", False) for _, f in entries):
        intro += (
            " A face whose mouth and chin look covered (a cup, a hand, a mask) and that scores under the model's "
            "threshold for covered faces is never labelled fake, uncertain at most: covered real faces score high too."
        )
    if any(f.depth is not None for _, f in entries):
        intro += (
            " Last panel: the face's depth map as the model's depth stream read it (brighter = nearer; FaceMesh's "
            "landmark estimate, not a measured depth)."
        )
    intro += f" Most fake first; {len(entries)} of {total} face{'s' if total != 1 else ''} shown."
    figures = []
    for pos, f in entries:
        fr = report.frames[pos]
        tile = face_tile(
            f,
            report.threshold,
            side=144,
            band=report.uncertain,
            panel=cam_on,
            second=report.second_opinion,
            colours=colours,
        )
        word = face_label(f.score, report.threshold, report.uncertain, report.second_opinion, held_back(f))
        where = "" if is_photo(report) else f"t = {fr.time:.2f} s (frame {fr.index}) · "
        # a tile with a depth panel is wider: its figure grows with it, so the panels keep their size
        wide = f' style="width:{round(300 * tile.shape[1] / 304)}px"' if f.depth is not None else ""
        figures.append(
            f'<figure{wide}><img src="{data_uri(tile)}" alt="{_esc(_tile_text(f, report))}">'
            f"<figcaption>{where}face {f.identity} · fake score "
            f"<b>{score_text(f.score, report.threshold, report.uncertain, digits=3)}</b> ({_esc(word)})"
            f"{_esc(crop_note(f))}</figcaption></figure>"
        )
    return f'<p class="note">{intro}</p><div class="faces">{"".join(figures)}</div>'


def _tile_text(face: FaceResult, report: Report) -> str:
    """A face tile in words, for a screen reader (its caption gives the score)."""
    text = f"face {face.identity} as the model saw it"
    if face.cam is not None:
        text += f", beside its {report.cam_method} heat map"
    return text + (", and its depth map" if face.depth is not None else "")


def _frame_section(report: Report, max_side: int = 720) -> str:
    """The frame with the highest-scoring face (the photo itself for a photo), boxes drawn, as a JPEG."""
    entries = _faces_of(report, 1)
    small = [pos for pos, fr in enumerate(report.frames) if fr.too_small]  # none judged: where the small ones are
    pos = entries[0][0] if entries else (small[0] if small else 0)
    if not report.frames or not report.frame_images:
        return ""
    fr = report.frames[pos]
    image = report.frame_images.get(fr.index)
    if image is None:
        return ""
    box_scale = frame_scale(report.frame_images, fr.index)
    image = draw_boxes(
        image,
        fr.faces,
        report.threshold,
        report.uncertain,
        view=(max_side, max_side),
        box_scale=box_scale,
        second=report.second_opinion,
        small=fr.too_small,
    )
    scale = max_side / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), cv2.INTER_AREA)
    what = "The photo" if is_photo(report) else f"The frame with the highest-scoring face (t = {fr.time:.2f} s)"
    if not entries and not is_photo(report) and fr.too_small:  # nothing scored: not "the highest-scoring face"
        what = f"A frame with faces too small to judge (t = {fr.time:.2f} s)"
    said = faces_text(fr.faces, report.threshold, report.uncertain, report.second_opinion, fr.too_small)
    boxed = fr.faces or fr.too_small
    alt = f"frame {fr.index}, a box around each face: {said}" if boxed else f"frame {fr.index}: {said}"
    grey = ", grey = too small to judge (no score)" if any(f.too_small for f in report.frames) else ""
    return (
        f'<h2>{what}</h2><img class="wide" src="{data_uri(image, quality=85)}" alt="{_esc(alt)}">'
        '<p class="small">Boxes: red = at or above the threshold, amber = in the uncertain band, green = below'
        f"{grey}.</p>"
    )


def _table_section(report: Report) -> str:
    def cell(v):
        return "" if v is None else _esc(v)

    table = table_value(report)
    head = "".join(f"<th>{_esc(h)}</th>" for h in table["headers"])
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in table["data"])
    n = len(report.frames)
    what = f"Per-frame scores ({n} sampled frame{'s' * (n != 1)})"
    if is_photo(report):
        what = "Scores of the photo's faces"
    return (
        f"<details><summary>{what}</summary>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>"
    )


def _scrubbed(report: Report) -> tuple[str, list[str]]:
    """The input's base name, and the warnings with any server path replaced by it."""
    name = os.path.basename(str(report.video)) or "input"
    paths = {str(report.video), str(report.video_info.get("path") or "")} - {"", name}
    warnings = []
    for w in report.warnings:
        for p in sorted(paths, key=len, reverse=True):
            w = w.replace(p, name)
        warnings.append(w)
    return name, warnings


def report_html(
    report: Report,
    card=None,
    *,
    max_faces: int = MAX_FACES,
    now: datetime | None = None,
    colours: str = DEFAULT_HEAT_MAP,
) -> str:
    """The whole report as one HTML page (see the module's docstring).  ``card``: the model card the analysis
    used (or None); ``now``: the date shown; ``colours``: the heat maps' (:data:`explain.HEAT_MAPS`)."""
    import dataclasses

    if colours not in HEAT_MAP_LOOKS:
        raise ValueError(f"unknown heat map colours {colours!r}: one of {', '.join(HEAT_MAP_LOOKS)}")
    name, warnings = _scrubbed(report)
    shown = dataclasses.replace(report, video=name, warnings=[_no_scheme(w) for w in warnings])
    when = (now or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    info = report.video_info or {}
    facts = []
    if is_photo(report):
        facts.append(f"photo, {info.get('width', '?')}x{info.get('height', '?')}")
    else:
        if info.get("duration"):
            facts.append(f"{float(info['duration']):.1f} s")
        if info.get("width"):
            facts.append(f"{info['width']}x{info.get('height', '?')}")
        if info.get("fps"):
            facts.append(f"{float(info['fps']):.0f} fps")
        facts.append(f"{len(report.frames)} frames sampled")
    said = headline(report)
    score = "no score" if report.score is None or math.isnan(report.score) else f"score {report.score:.3f}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(name)}: {_esc(said)} ({score})</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Deepfake detector report</h1>",
        f'<div class="meta"><b>{_esc(name)}</b> · {_esc(", ".join(facts))} · analysed {_esc(when)} by deepfake-lens '
        f"{_esc(report.software)}</div>",  # which version and verdict rules made it (detector.provenance)
        "<h2>Verdict</h2>",
        verdict_html(shown),
    ]
    if not shown.warnings:
        parts.append('<p class="note">No warning was raised for this analysis.</p>')
    parts.append(f'<p class="note">{_band_text(report)}</p>')
    if report.aggregation in RULE_TEXT and not is_photo(report):  # a photo's score is its most fake face's
        parts.append(f'<p class="small">Aggregation: {_esc(report.aggregation)}: {_esc(rule_text(report))}.</p>')
    if report.frames and not is_photo(report):
        from webapp.plots import timeline_words

        png = base64.b64encode(timeline_png(report)).decode("ascii")
        # the chart in words for a screen reader, as the app says it under its chart (a stretch shaded red included)
        words = f"Timeline of the scores: {timeline_words(report)}."
        parts += [
            "<h2>Fake score over time</h2>",
            f'<img class="wide" src="data:image/png;base64,{png}" alt="{_esc(words)}">',
        ]
    parts.append(_frame_section(report))
    parts += ["<h2>Faces and their explanations</h2>", _faces_section(report, max_faces, colours)]
    if report.frames:
        parts += [f"<h2>{'Table' if is_photo(report) else 'Per-frame table'}</h2>", _table_section(report)]
    parts += ["<h2>Model</h2>", _model_section(report, card)]
    parts.append(
        '<p class="small" style="margin-top:28px">Made with deepfake-lens. A score is one model\'s estimate, not '
        "proof: a detector can miss kinds of fakes it never saw, and compression or filters can fool it.</p>"
        "</body></html>"
    )
    return "\n".join(p for p in parts if p)


def write_html_report(report: Report, card, folder: str, **kwargs) -> str:
    """Write ``<video>_report.html`` (:func:`report_html`) into ``folder``; returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{stem(report)}_report.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(report_html(report, card, **kwargs))
    return path


__all__ = ["report_html", "write_html_report", "timeline_png", "data_uri", "MAX_FACES"]
