"""Race-winner and podium chances before the lights: pure code over Ergast-shaped frames.

``points`` (championship points and standings rules), ``ratings`` (Elo for drivers and
constructors), ``features`` (the one feature builder), ``model`` (LightGBM / conditional
logit, calibrated per race), ``baselines`` (grid slot, pole, climatology), ``metrics`` and
``backtest`` (walk-forward evaluation), ``payload`` (the served document). No I/O here: the
readers live in ``prerace/ingest``.
"""
