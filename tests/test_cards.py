"""A model card's figures in plain words (webapp.cards): what the app's model panel and the HTML report show."""

from __future__ import annotations

from types import SimpleNamespace

from webapp.cards import card_figures


def test_an_ensembles_figures_say_on_what_and_how_they_were_measured():
    card = SimpleNamespace(
        metrics={
            "out_of_fold": True,
            "video_auc": 0.857,
            "video_auc_ci95": [0.79, 0.91],
            "crossval_video_auc": 0.938,
            "crossval_source": "ffpp",
            "by_source_auc": {"faces_utk": None, "ffpp": 0.938, "ffpp_c40": 0.734},
            "by_method_auc": {"Deepfakes": 0.96, "NeuralTextures": 0.47},
            "recall_at_threshold": 0.576,
            "cross_fitted_false_alarms": [
                {"name": "faces_utk", "reals": 6237, "false_alarms": 38},
                {"name": "all", "reals": 6288, "false_alarms": 40},
            ],
            "definitions": {"video_auc": "..."},
        }
    )
    lines = card_figures(card)
    assert lines[0].startswith("Cross-validated on FaceForensics++ c23") and lines[0].endswith("video AUC 0.94")
    assert "out of fold: video AUC 0.86 (95% interval 0.79-0.91)" in lines[1]
    assert lines[2].endswith("FaceForensics++ c23 0.94, FaceForensics++ c40 0.73")  # no figure for one-class sources
    assert "NeuralTextures 0.47" in lines[3] and "58% of the fake validation videos" in lines[4]
    assert lines[5].endswith("UTKFace photos 38 of 6,237")  # the "all" row is not repeated
    assert not any("definitions" in line or "out_of_fold" in line for line in lines)


def test_a_single_split_a_peer_and_an_unknown_card():
    one = card_figures(SimpleNamespace(metrics={"video_auc": 0.714}))
    assert one == ["Its own validation split (one split, not cross-validated): video AUC 0.71"]
    peer = card_figures(
        SimpleNamespace(
            metrics={
                "video_auc": 0.728,
                "unseen": True,
                "measured_on": "all 100 FaceForensics++ c23 videos",
                "false_alarms_wild_real": "2 of 4",
            }
        )
    )
    assert peer[0] == "Measured on all 100 FaceForensics++ c23 videos: video AUC 0.73"
    assert peer[1] == "Real people it called fake at its threshold: real clips from outside FaceForensics++ 2 of 4"
    assert card_figures(SimpleNamespace(metrics={"accuracy": 0.5})) == ["accuracy 0.500"]
    assert card_figures(SimpleNamespace(metrics={})) == [] and card_figures(SimpleNamespace(metrics=None)) == []


def test_figures_of_the_wrong_type_are_left_out_never_an_error():
    # found by review: a hand-edited card's metrics raised where the old listing never did
    odd = {
        "video_auc": 0.8,
        "out_of_fold": True,
        "video_auc_ci95": [None, None],
        "by_method_auc": ["Deepfakes", 0.9],
        "by_source_auc": {"ffpp": None, "ffpp_c40": None},
        "cross_fitted_false_alarms": [{"name": "ffpp", "reals": 33}, "x"],
        "crossval_source": ["ffpp"],
        "crossval_video_auc": float("nan"),
    }
    assert card_figures(SimpleNamespace(metrics=odd)) == [
        "Every validation video of every source together, out of fold: video AUC 0.80"
    ]
    assert card_figures(SimpleNamespace(metrics={"definitions": {"a": "b"}})) == []  # nothing to show: none
    assert card_figures(SimpleNamespace(metrics={"by_method_auc": {"Deepfakes": None}})) == []
    assert card_figures(SimpleNamespace(metrics="not a dict")) == []


def test_the_menus_list_the_default_then_the_models_installed_beside_it():
    # a browser check: mnv2_colour (for material where a false alarm costs most) sat alphabetically among twelve
    from types import SimpleNamespace

    from detector.training.config import recipe_index
    from webapp.cards import menu_order

    index = [r["model"] for r in recipe_index().values() if r.get("model")]
    default = next(r["model"] for r in recipe_index().values() if r["status"] == "default")
    cards = [SimpleNamespace(name=n, default=n == default) for n in ["zz_mine", "aa_peer", *sorted(index)]]
    assert [c.name for c in menu_order(cards)] == [default, *[n for n in index if n != default], "aa_peer", "zz_mine"]
    assert index.index("mnv2_colour") == 1  # right after the default
