"""Race-winner and podium chances before the lights: pure code over Ergast-shaped frames.

``points`` (championship points and standings rules), ``ratings`` (Elo for drivers and
constructors), ``pace`` (recent qualifying and race pace), ``teams`` (a renamed team's
lineage), ``features`` (the one feature builder), ``model`` and ``residual`` (a conditional
logit that contains its baseline and learns only the adjustment), ``baselines`` (grid slot,
pole, championship order, climatology), ``metrics`` and ``backtest`` (walk-forward
evaluation and the checks against the baselines), ``payload`` (the served document). No I/O
here: the readers live in ``prerace/ingest``.
"""
