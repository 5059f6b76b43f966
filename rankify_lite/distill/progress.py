"""One progress bar for training, showing the step and the latest loss (instead of the
trainer's dict printed at every logged step)."""

from __future__ import annotations

from typing import Any

from transformers.trainer_callback import TrainerCallback


class LossProgressBar(TrainerCallback):
    """tqdm over optimiser steps; the postfix is the last logged training loss."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.seen = 0

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="distill",
                            unit="step", dynamic_ncols=True)
            self.seen = state.global_step

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.seen)
            self.seen = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
