"""Models on disk: save a trained network, install a model into the user's model folder, list and find models.

Models are looked up in :func:`detector.constants.model_dirs` (the user's folder,
then the models shipped with the package); installing never writes into the
installed package.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from detector.constants import USER_MODELS, model_dirs
from detector.errors import NoModelError
from detector.models.card import BadCardError, ModelCard, weights_path

__all__ = ["save_model", "install_model", "list_models", "resolve", "card_path_of", "file_sha256"]


def save_model(net, card: ModelCard, directory: str | os.PathLike, half: bool = False) -> Path:
    """Write ``<name>.safetensors`` and ``<name>.json`` into ``directory``; returns the card's path."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    card.weights = f"{card.name}.safetensors"
    card.dtype = "float16" if half else "float32"
    save_file(state, str(directory / card.weights), metadata={"architecture": card.architecture})
    path = directory / f"{card.name}.json"
    path.write_text(card.to_json())
    return path


def install_model(
    card_path: str | os.PathLike, default: bool = False, directory: str | os.PathLike | None = None
) -> Path:
    """Copy a card and its weights (e.g. ``runs/x/model/<name>.json``) into ``directory`` (default: the user's
    model folder); a folder holding one card (a run's ``model/``) stands for that card, as ``--model`` takes it.  With
    ``default``, it becomes the only default model there.  Returns the installed card."""
    src = Path(card_path)
    if src.is_dir():  # (an audit: refused as "not a regular file")
        src = resolve(str(src), directory=[])
    card = ModelCard.from_file(src)
    files = [weights_path(card, src.parent, f) for f in card.weight_files]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise NoModelError(f"{src}: the weights {', '.join(missing)} are not beside the card")
    directory = (
        Path(directory)
        if directory is not None
        else (model_dirs()[0] if os.environ.get("DEEPFAKE_MODELS_DIR") else USER_MODELS)
    )
    directory.mkdir(parents=True, exist_ok=True)
    if default:
        for other in list_models([directory]):
            if other.default and other.name != card.name:
                other.default = False
                Path(other.path).write_text(other.to_json())
    card.default = default or card.default
    for f in files:
        if (directory / f.name).resolve() != f:
            shutil.copy2(f, directory / f.name)
    (directory / f"{card.name}.json").write_text(card.to_json())
    from detector.models.classifier import clear_cache

    clear_cache()
    return directory / f"{card.name}.json"


PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt", ".h5", ".keras")  # refused by name, never read


def _dirs(directory) -> list[Path]:
    if directory is None:
        return model_dirs()
    if isinstance(directory, (list, tuple)):
        return [Path(d) for d in directory]
    return [Path(directory)]


def list_models(directory: str | os.PathLike | list | None = None) -> list[ModelCard]:
    """Cards of the models whose weights exist (a name found twice: the first folder's), the default first.
    Each card gets ``card.path``, where it was found."""
    seen: dict[str, ModelCard] = {}
    for folder in _dirs(directory):
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.json")):
            try:
                card = ModelCard.from_file(p)
                ok = all(weights_path(card, folder, f).is_file() for f in card.weight_files)
            except BadCardError:
                continue
            if ok and card.name not in seen:
                card.path = p
                seen[card.name] = card
    return sorted(seen.values(), key=lambda c: (not c.default, c.name))


def card_path_of(card: ModelCard) -> Path:
    return Path(card.path)


def _card_problem(card_file: Path, folder: Path) -> tuple[ModelCard | None, str | None]:
    """The card in ``card_file`` (None where it does not read) and what keeps it from giving a model in ``folder``:
    its own reason, its weights not beside it, or None."""
    try:
        card = ModelCard.from_file(card_file)
        # weights_path, as list_models checks them: a name leading out of the folder is refused with its reason
        missing = [w for w in card.weight_files if not weights_path(card, folder, w).is_file()]
    except (BadCardError, OSError) as e:
        return None, str(e)
    return card, f"its weights {', '.join(missing)} are not beside it" if missing else None


def _why_no_card(folder: Path) -> str:
    """Why ``folder`` gives no model: the first of its ``.json`` files' reasons (a card without its weights, a card
    missing fields), or that it holds none."""
    for card_file in sorted(folder.glob("*.json"))[:20]:
        card, problem = _card_problem(card_file, folder)
        if problem:
            return f"holds no usable model card ({problem if card is None else f'{card_file.name}: {problem}'})"
    return "the folder holds no model card (a .json card beside its weights)"


def _why_not(card_file: Path, folder: Path) -> str:
    """Why the card file ``card_file`` in ``folder`` gives no model: its own reason, its weights missing, or its name
    given to another card."""
    card, problem = _card_problem(card_file, folder)
    return problem or f"the card inside names the model {card.name!r}: give that name"


def resolve(name_or_path: str | None = None, directory: str | os.PathLike | list | None = None) -> Path:
    """Path of a model card: ``None`` -> the default; a name -> an installed or shipped model; or a path to a
    card (``.json``), its weights (``.safetensors``) or a folder holding one card."""
    if name_or_path:
        p = Path(name_or_path)
        if p.suffix == ".safetensors":
            p = p.with_suffix(".json")
        if p.suffix == ".json" and p.is_file():
            return p
        if p.is_dir():
            cards = list_models(p)
            if len(cards) == 1:
                return card_path_of(cards[0])
            if len(cards) > 1:  # which one is meant cannot be guessed: the default of the folder would be a guess
                names = ", ".join(c.name for c in cards[:6]) + (", ..." if len(cards) > 6 else "")
                raise NoModelError(f"{name_or_path}: holds {len(cards)} model cards ({names}); give one card or name")
        for card in list_models(directory):
            if card.name == name_or_path:
                return card_path_of(card)
        if p.is_dir():  # a folder, but no usable card in it (a review: "no model 'emptydir'" read as a typo)
            raise NoModelError(f"{name_or_path}: {_why_no_card(p)}")
        if p.suffix.lower() in PICKLE_SUFFIXES and p.exists():  # an audit: "no model 'evil.pt'" read as a typo
            raise NoModelError(
                f"{name_or_path}: a {p.suffix} file is not a model card and is never loaded (pickled weights can run "
                "code); give a card (.json beside .safetensors weights) or an installed name"
            )
        for folder in _dirs(directory):  # a card file of that name that does not load (an audit: "no model 'zz'"
            # read as a typo where zz.json was there, broken)
            named = folder / f"{name_or_path}.json"
            if "/" not in name_or_path and named.is_file():
                raise NoModelError(f"{name_or_path}: {named} does not give this model ({_why_not(named, folder)})")
        known = ", ".join(c.name for c in list_models(directory)) or "none installed"
        raise NoModelError(f"no model {name_or_path!r} (installed: {known})")
    cards = list_models(directory)
    if not cards:
        where = ", ".join(str(d) for d in _dirs(directory))
        raise NoModelError(
            f"no trained model is installed (looked in {where}): train one with `deepfake-lens train` "
            "(see README) or pass --model PATH"
        )
    return card_path_of(cards[0])


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read a megabyte at a time (weight files are recorded and checked by it)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
