"""Play with a toy GAN in Jupyter: GAN Lab's controls (Kahng et al. 2018) over toygan's engine.

``explore()`` shows ipywidgets controls for a ``ToyConfig`` (the 1D mixture or a 2D benchmark,
the objective, k, the learning rates, the batch, packing, unrolling) with Play, Pause, Step and
Reset buttons, above the ``LivePanel`` of ``toygan.toy.live``. Step trains one redraw interval,
Play trains "Play: steps" steps one interval at a time in a background thread, so the kernel
stays free for Pause (honoured between intervals). The model's settings take effect at the next
Reset, which builds a fresh ``build_trainer(cfg)``: the same settings and seed, the same run. A
setting the run cannot take (what ``check_config`` refuses, or what fails while building or
training) shows one line in the widget instead of raising.

    explorer = toygan.explore(dataset="ring", device="cpu")
    explorer.step()  # what the buttons call: step(), play(), pause(), reset()
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from toygan.cli import UsageError, flag
from toygan.engine import GANTrainer
from toygan.objectives import OBJECTIVES, resolve_settings
from toygan.toy import plots2d
from toygan.toy.config import FROM_FLAGS, ToyConfig, check_config
from toygan.toy.experiment import build_trainer
from toygan.toy.live import LivePanel
from toygan.toy.mixture import DATASETS

# An explorer has no planned end: constant learning rates (ToyConfig decays them to 0 at
# ``steps``), a lighter panel, and short Plays redrawn often.
EXPLORE_DEFAULTS = {"lr_decay": "none", "n_samples": 1000, "steps": 500, "snapshot_every": 50}
# field -> label; these make the model and apply at Reset
MODEL_CONTROLS = {
    "dataset": "data",
    "objective": "objective",
    "k_steps": "k (D steps)",
    "lr": "lr",
    "d_lr_scale": "D lr ×",
    "batch_size": "batch",
    "packing": "packing",
    "unrolled": "unrolled",
    "seed": "seed",
}
RUN_CONTROLS = {"steps": "Play: steps", "snapshot_every": "redraw every"}  # apply at once
NOTE = "Model settings apply at <b>Reset</b>; Play steps and redraw-every apply at once."


def check_explorable(cfg: ToyConfig) -> None:
    """``check_config``: ``UsageError`` naming the flag of a setting the run cannot take."""
    check_config(cfg)


class Explorer:
    """The controls, the config they last built (``cfg``), its ``trainer`` and its ``panel``.

    Args:
        show: display the controls and the panel in the notebook (``False``: only build them, as
            the tests do; the panel still draws its figure and keeps its snapshots).
        **defaults: ``ToyConfig`` fields; the controls start from them (over
            ``EXPLORE_DEFAULTS``), the fields without a control keep them at every Reset.
    """

    def __init__(self, show: bool = True, **defaults: Any) -> None:
        self.defaults = {**EXPLORE_DEFAULTS, **defaults}
        self.show = show
        self.cfg: ToyConfig | None = None  # the settings of the current trainer
        self.trainer: GANTrainer | None = None
        self.panel: LivePanel | None = None
        self._lock = threading.Lock()  # one interval of training and drawing at a time
        self._stop = threading.Event()  # Pause: set, read between intervals
        self._thread: threading.Thread | None = None
        self._handle = None  # the panel's place below the controls, kept across Resets
        self.message = ""  # the status line's text

        start = ToyConfig(**self.defaults).resolved()
        datasets = [("1D mixture", "mixture"), *((f"2D {n}", n) for n in DATASETS)]
        if start.dataset not in DATASETS and start.dataset != "mixture":
            datasets.append((start.dataset, start.dataset))  # e.g. mixture2d from the defaults
        style, box = {"description_width": "initial"}, widgets.Layout(width="auto")
        self.controls: dict[str, Any] = {}
        for name, label in {**MODEL_CONTROLS, **RUN_CONTROLS}.items():
            value = getattr(start, name)
            if name == "dataset":
                w = widgets.Dropdown(options=datasets, value=value)
            elif name == "objective":
                w = widgets.Dropdown(options=sorted(OBJECTIVES), value=value)
            elif isinstance(value, float):
                w = widgets.FloatText(value=value, layout=widgets.Layout(width="150px"))
            else:
                w = widgets.IntText(value=value, layout=widgets.Layout(width="150px"))
            w.description, w.style = label, style
            self.controls[name] = w
        for name in MODEL_CONTROLS:
            self.controls[name].observe(self._changed, names="value")
        self.controls["objective"].observe(self._objective_defaults, names="value")

        self.buttons = {
            name: widgets.Button(description=name, icon=icon, tooltip=tip, layout=box)
            for name, icon, tip in (
                ("Play", "play", "train 'Play: steps' steps, redrawing every interval"),
                ("Pause", "pause", "stop playing at the end of this interval"),
                ("Step", "step-forward", "train one interval ('redraw every' steps)"),
                ("Reset", "refresh", "a fresh G and D from the settings shown"),
            )
        }
        for name, action in (("Play", self.play), ("Pause", self.pause), ("Step", self.step),
                             ("Reset", self.reset)):  # fmt: skip
            self.buttons[name].on_click(lambda _button, act=action: act())
        self.note = widgets.HTML(NOTE)
        self.status = widgets.HTML("")  # one line: the step and metrics, or what is wrong
        c = self.controls
        rows = [
            [c["dataset"], c["objective"], c["seed"]],
            [c["k_steps"], c["lr"], c["d_lr_scale"], c["batch_size"]],
            [c["packing"], c["unrolled"]],
            [*self.buttons.values(), c["steps"], c["snapshot_every"]],
        ]
        self.widget = widgets.VBox([*map(widgets.HBox, rows), self.note, self.status])
        self._enable(playing=False)
        if show:
            from IPython.display import HTML, display

            display(self.widget)
            self._handle = display(HTML(""), display_id=True)  # filled by the first drawing
        self.reset()

    # -- the buttons ---------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step(self) -> None:
        """Train one interval ('redraw every' steps) and redraw (nothing while playing)."""
        if self.playing:
            self._say("playing: press Pause first", error=True)
            return
        every = self._run_setting("snapshot_every")
        if every and self._ready():
            self._train(every)

    def play(self, wait: bool = False) -> None:
        """Train 'Play: steps' more steps in a background thread, one interval at a time, until
        done or paused (``wait``: return when it ends, as the tests do)."""
        if self.playing:
            return
        steps, every = self._run_setting("steps"), self._run_setting("snapshot_every")
        if not (steps and every and self._ready()):
            return
        end = self.trainer.step + steps
        self._stop.clear()
        self._thread = threading.Thread(target=self._play, args=(end, every), daemon=True)
        self._enable(playing=True)
        self._thread.start()
        if wait:
            self.wait()

    def pause(self) -> None:
        """Stop playing at the end of the current interval (and wait for it)."""
        self._stop.set()
        self.wait()

    def reset(self) -> None:
        """Build the trainer and panel of the settings shown, and draw step 0; a setting it cannot
        take leaves the current run as it was and says why."""
        self.pause()
        try:
            cfg = self.config()
            check_explorable(cfg)
            trainer = build_trainer(cfg)
            panel = LivePanel(cfg.mixture(), cfg.n_samples, cfg.seed, cfg.objective, show=False)
        except Exception as err:  # the UI's edge: any setting it cannot take is one line
            return self._refuse(err)
        self.cfg, self.trainer, self.panel = cfg, trainer, panel
        self._changed()
        self._draw()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current Play ends."""
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the settings --------------------------------------------------------------------------

    def config(self) -> ToyConfig:
        """The settings the controls show now: what the next Reset builds."""
        values = {**self.defaults, **{n: w.value for n, w in self.controls.items()}}
        if values["dataset"] not in FROM_FLAGS:  # a named dataset defines its own modes
            for name in ("means", "stds", "weights"):
                values.pop(name, None)
        return ToyConfig(**values)

    def pending(self) -> list[str]:
        """The labels of the model settings changed since the last Reset."""
        if self.cfg is None:
            return list(MODEL_CONTROLS.values())
        now = self.cfg.resolved()
        return [label for name, label in MODEL_CONTROLS.items()
                if self.controls[name].value != getattr(now, name)]  # fmt: skip

    def _changed(self, _change=None) -> None:
        changed = self.pending()
        tail = f" Changed: {', '.join(changed)} (press Reset)." if changed else ""
        self.note.value = NOTE + html.escape(tail)

    def _objective_defaults(self, change) -> None:
        """Choosing an objective fills k and lr with its defaults (e.g. k = 5 for WGAN-GP)."""
        if change["new"] in OBJECTIVES:
            own = resolve_settings(change["new"], {"k_steps": None, "lr": None})
            for name, value in own.items():
                self.controls[name].value = value

    def _run_setting(self, name: str) -> int | None:
        value = self.controls[name].value
        if value >= 1:
            return value
        self._say(f"{RUN_CONTROLS[name]}: must be >= 1, got {value}", error=True)
        return None

    # -- training and drawing ------------------------------------------------------------------

    def _ready(self) -> bool:
        if self.trainer is None:
            self._say("no run: fix the settings and press Reset", error=True)
        return self.trainer is not None

    def _play(self, end: int, every: int) -> None:
        try:
            while not self._stop.is_set() and self.trainer.step < end:
                if not self._train(min(every, end - self.trainer.step)):
                    break
        finally:
            self._enable(playing=False)

    def _train(self, steps: int) -> bool:
        """Train ``steps`` steps and redraw; False (and one line) if training failed."""
        with self._lock:
            try:
                self.trainer.train(steps, progress=False)
            except Exception as err:  # e.g. TrainingDiverged: said in the widget, the run kept
                self._refuse(err)
                return False
            self._draw()
            return True

    def _draw(self) -> None:
        self.panel(self.trainer, self.trainer.step)
        snap = self.panel.snapshots[-1]
        if self.cfg.dim == 1:
            metrics = f"W1 {snap.metrics['w1']:.3g}" if "w1" in snap.metrics else ""
        else:
            metrics = plots2d.metric_line(snap)
        where = f"{self.cfg.objective} on {self.cfg.dataset}"
        self._say(" · ".join(s for s in (f"step {self.trainer.step}", where, metrics) if s))
        if self._handle is not None:
            self._handle.update(self.panel.fig)

    def _enable(self, playing: bool) -> None:
        self.buttons["Play"].disabled = self.buttons["Step"].disabled = playing
        self.buttons["Pause"].disabled = not playing

    def _refuse(self, err: Exception) -> None:
        if isinstance(err, UsageError):  # name the control, not the command-line flag
            labels = {flag(n): label for n, label in {**MODEL_CONTROLS, **RUN_CONTROLS}.items()}
            text = f"{labels.get(err.flag, err.flag)}: {err.problem}"
        else:
            text = f"{type(err).__name__}: {err}"
        self._say(text.splitlines()[0] if text else type(err).__name__, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.message = text
        colour = "#b2182b" if error else "inherit"
        self.status.value = f'<span style="color: {colour}">{html.escape(text)}</span>'


def explore(show: bool = True, **defaults: Any) -> Explorer:
    """Display an ``Explorer`` for the ``ToyConfig`` settings ``defaults`` and return it."""
    return Explorer(show=show, **defaults)


__all__ = ["Explorer", "explore", "check_explorable", "EXPLORE_DEFAULTS"]
