"""What opening things means, decided without a window: an exported PNG's recipe, and the start-up.

The window carries these plans out (asking the question a plan names, opening the model it names); tests
and scripts can check the rules without Qt.

Opening a PNG whose recipe names a model:

- the open model has the recipe's checksum: apply its settings;
- the open model has the recipe's file name but another checksum: ask before applying;
- a recent file has the recipe's file name: ask whether to open it (its settings then apply to it);
  declined, and a model is open: ask whether to apply them to that model instead;
- no model is open and none of the recent files matches: refuse, saying to open the model first;
- another model is open: ask whether to apply the settings to it.

Starting: a model named on the command line opens (with the last session's state if that session was on
the same file); else the last session is restored when its model still exists; else the bundled model,
else the last model opened; else the welcome page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explorer.engine.describe import ModelDescription
from explorer.engine.recipe import Recipe
from explorer.engine.session import Session
from explorer.engine.state import State

APPLY, ASK_APPLY, ASK_OPEN, REFUSE = "apply", "ask-apply", "ask-open", "refuse"


@dataclass(frozen=True)
class RecipePlan:
    action: str  # APPLY | ASK_APPLY | ASK_OPEN | REFUSE
    message: str = ""  # the question to ask, or why not
    model_path: str | None = None  # ASK_OPEN: the recent file to open
    then: RecipePlan | None = None  # ASK_OPEN declined: what comes next (None: nothing)


def plan_recipe(image: str | Path, recipe: Recipe, model: ModelDescription | None,
                recent_files: list[str]) -> RecipePlan:
    name = Path(image).name
    if model is not None and recipe.model_sha256 and recipe.model_sha256 == model.sha256:
        return RecipePlan(APPLY)
    if model is not None and recipe.model_file == model.name:
        return RecipePlan(ASK_APPLY, f"{name} was made with a different file named {recipe.model_file} "
                                     "(checksums differ). Apply its settings to the open model anyway?")
    match = next((p for p in recent_files if Path(p).name == recipe.model_file), None)
    otherwise = None
    if model is not None:
        otherwise = RecipePlan(ASK_APPLY, f"{name} was made with {recipe.model_file}"
                                          f"{'' if match else ' (not among the recent models)'}. "
                                          f"Apply its settings to {model.name}?")
    if match:
        return RecipePlan(ASK_OPEN, f"{name} was made with {recipe.model_file}. Open that model?\n{match}",
                          model_path=match, then=otherwise)
    if otherwise is None:
        return RecipePlan(REFUSE, f"{name}: made with {recipe.model_file}, which is not among the recent "
                                  "models; open it first, then the image")
    return otherwise


@dataclass(frozen=True)
class StartupPlan:
    action: str  # "open" (model_path, state) | "restore" (session) | "welcome"
    model_path: str | None = None
    state: State | None = None
    session: Session | None = None


def plan_startup(network: str | Path | None, session: Session | None,
                 fallbacks: list[str | Path | None]) -> StartupPlan:
    """``fallbacks``: the models to try in order when nothing else applies (bundled, last opened)."""
    if network is not None:
        same = session is not None and session.model and Path(session.model).resolve() == Path(network).resolve()
        return StartupPlan("open", str(network), session.state if same else None)
    if session is not None and session.model and Path(session.model).exists():
        return StartupPlan("restore", session=session)
    for candidate in fallbacks:
        if candidate and Path(candidate).exists():
            return StartupPlan("open", str(candidate))
    return StartupPlan("welcome")
