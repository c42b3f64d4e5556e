"""The "How it works" tab: what happens to a video or photo, how to read the verdict, the other tabs, the API."""

from __future__ import annotations

import gradio as gr

from detector.constants import DEFAULT_FRAMES
from webapp.common import CAM_FACES, LIMITS
from webapp.verdict import HEADLINES

__all__ = ["ABOUT", "build_about_tab"]

ABOUT = f"""
## In short
**video or photo → sampled frames → faces → a fake score for each face → one verdict, and heat maps**

A *deepfake* here is a video or photo in which a computer swapped or changed a face. This tool finds each face, and
a neural network that learned from known real and fake faces gives it a *fake score*. These become one
verdict: **real**, **uncertain** or **fake** (the card says *{HEADLINES["real"]}*, *{HEADLINES["uncertain"]}* or
*{HEADLINES["fake"]}*). A heat map shows which pixels pushed the score towards fake. It is one
model's estimate, not proof: it can miss fakes unlike those it learned from, and it can call real people fake, more
often on compressed, filtered or forwarded material. The details follow.

## What happens to your video or photo
1. **Decode**: {DEFAULT_FRAMES} frames (up to {LIMITS.max_frames} on the slider) are sampled evenly over the clip
   (PyAV); rotation tags are applied. A photo (jpg, png, webp, bmp, a one-frame gif) is one frame, turned
   upright by its EXIF tag, its transparent parts laid on white; an animated gif is a clip.
2. **Find faces**: BlazeFace (mediapipe) finds faces in each sampled frame, and follows each person from frame to
   frame: face 0, face 1... numbered left to right as they first appear. A head tilted by 10 to 45 degrees is cut
   turned upright, as the models learned faces.
3. **Score**: each face crop gets a *fake score* from 0 to 1 from the classifier (the model card says what it was
   trained on). It is the network's output, not a measured chance that the face is fake: 0.9 does not mean "nine in
   ten such faces are fakes". What it means is where it stands against the threshold, which was set on real faces the
   model never trained on.
4. **Aggregate**: the *confident* rule (from the DFDC winning solution) turns frame scores into one score per person;
   the video score is the highest among the people seen often enough (a photo's: its most fake face's). At or above
   the threshold → *fake*; just below it, in the model's *uncertain* band (where real faces of its validation set
   also score) → *uncertain*. Faces under text (a caption, a watermark) and faces whose mouth and chin look covered
   (a cup, a hand, a mask) never make a *fake* on their own under the model's own threshold for such faces (or at
   all, where it has none): covered real faces, and faces under captions or watermarks, score high too.
5. **Explain**: a heat map (Grad-CAM or a relative) shows which pixels pushed the score towards *fake*. Each map
   is scaled to its own strongest spot: on a face scored real, red is not evidence of a fake. Colours: jet (blue to
   red) or inferno (dark to bright yellow, which reads the same with red-green colour blindness and in greyscale),
   chosen over the gallery or in the Compare tab. Two figures in the table say how far to trust a map: *CAM drop
   (blur)*, how far the fake score falls when the map's hottest pixels are blurred (large: the map found what
   drove the score; near 0: it did not; negative: blurring them made the face look *more* fake), and the share of
   the map on the face. A hatched part of a tile is padding past the picture's edge (a photo's border mirrored
   outwards, black beyond a video frame): the model saw it, the picture does not hold it.
   Only the most fake faces are explained ({CAM_FACES} by default; *Explain at most this many faces*), so the two
   figures are filled in on their rows only; a tile that reads *empty heat map* is a face where nothing pushed
   towards fake.

## Read the verdict with care
- No face, few faces, tiny faces, or frame scores split around the threshold all make a verdict shaky; the app says so.
  A score close to the threshold, or frames split round it, is fragile: in a test, one more encode (as an upload or a
  download does) changed such a clip's label 10 times in 35, and every real clip called fake had that warning. Read
  it as uncertain and look for the best copy.
- A clip fake in part (a stretch of it swapped) is judged on all its frames: where several frames in a row score
  strongly fake the verdict is at most "uncertain", never "real", and a warning names the stretch. Read the timeline.
- So do faces unlike all the model trained on (the ranges are in its card): smaller or larger, blurrier or sharper
  (grain and noise count as fine detail), darker or brighter, more turned, or coloured by a filter or the light
  (sepia, warm, cool, pink, vivid, two-toned). Its training videos are compressed TV footage: a clean HD clip can
  read "sharper", and its score then means less, either way. Where the default calls a colour-filtered face fake, a
  model trained with such filters gives a second opinion on the same faces; if it does not say fake, the verdict is
  "uncertain", never "real", and the warnings say why.
- A video smaller than every training clip (under 480 px on its short side), as a clip forwarded through a messaging
  app often is, is warned of: it is judged less reliably both ways. The default judges it at a stricter threshold
  of its own for such videos (0.942 instead of 0.666; 0.954 under 300 px), so that few real clips are called fake;
  it then calls fewer fakes fake, and the verdict is often "uncertain". The threshold slider shows it. Look for the
  original.
- A detector trained on one kind of fakes can miss other kinds, and compression or filters can fool it: try the
  *Failure lab*.
- A clip or photo of the research data the model trained on (FaceForensics++, UTKFace) is recognised by its bytes
  and named in the first warning: a right verdict on it proves nothing about new material.
- Limits: {LIMITS.max_file_mb:.0f} MB, {LIMITS.max_duration_s:.0f} s, 1440p. Analyses run one at a time (the host
  can allow more); others wait in the queue, which shows their position.

## The other tabs
- **Failure lab**: the same clip or photo changed on purpose (JPEG re-compression, blur, noise, shrinking,
  brightness, contrast, colour removed, a sepia or warm filter, a mirror flip, a turn, black squares), analysed
  again beside the original, with the original's faces paired with the same faces changed. *Three levels* runs a
  small robustness study: unchanged, *fliprot* (mirrored and turned by 10 degrees: a fair detector should not care)
  and *heavy* (several changes at once). The perturbation's strength is said in figures under its slider (blur's
  *sigma* is how wide the blur spreads, as a share of the frame's longer side). A verdict that flips under a change
  a person would not notice is a verdict to doubt.
- **Compare models**: every installed model on one clip or photo, their timelines overlaid (a clip's), each
  verdict, and one heat map per model for the same face; where they disagree, no single verdict should be trusted
  alone.

## Use it from code
`python -m detector scan clip.mp4 --json out.json` writes the same report as the JSON download here. Over HTTP:
`gradio_client.Client(url).predict(handle_file("clip.mp4"), 32, None, "none (faster)", None, api_name="/analyze_json")`
(the model `None`: the default; the threshold `None`: the model's own, with its uncertain band, as on this page; a
number there is used as given, the band ending at it); for a photo, pass `None` as the video and
`photo=handle_file("photo.jpg")`.
"""


def build_about_tab() -> None:
    with gr.Tab("How it works", id="about"):
        gr.Markdown(ABOUT)
