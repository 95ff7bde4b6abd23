"""The record of how a fitted model's hyper-parameters and features were chosen
(``Selection``), stored with the model so the choice can be read back from the artifact.
The search itself: ``training.hazards.selection``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Selection:
    params: dict = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    score: float = float("nan")  # pooled held-out score of the chosen setting (lower is better)
    metric: str = "log_loss"
    folds: list[int] = field(default_factory=list)  # the held-out seasons
    tried: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Selection:
        return cls(**d)
