"""Model versions: what configuration a score came from and how much the model had learned.

A version reads `{kind}-{config_hash[:8]}-{state}` (challengers:
`{kind}-challenger-{config_hash[:8]}-{state}`). `config_hash` is a SHA-256 of
everything that changes the score: the inputs and their transforms, the rule's
thresholds and weights, the learner and its hyperparameters, the warm-up and
blending settings, the seed and the anomaly detector's parameters (not the
decision threshold, which changes decisions but not scores). `state` is `rules`
while the model is cold (the rule score alone), else `n{bucket}` where the bucket
of labels learned grows in powers of two up to 1024 and then per 1024 labels.

Example:
    >>> [label_bucket(n) for n in (0, 1, 3, 200, 1023, 1024, 5000)]
    [0, 1, 2, 128, 512, 1024, 4096]
    >>> len(config_hash({"a": 1})), config_hash({"a": 1}) == config_hash({"a": 1})
    (64, True)

"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MODEL_FORMAT = 1
"""Bumped when the meaning of stored models or of their inputs changes."""


def config_hash(config: dict[str, Any]) -> str:
    """Return the SHA-256 hex digest of `config` as canonical JSON (sorted keys)."""
    text = json.dumps({"format": MODEL_FORMAT, **config}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def label_bucket(n: int) -> int:
    """Return the version bucket of `n` labels learned: powers of two, then per 1024."""
    if n <= 0:
        return 0
    if n < 1024:
        return 1 << (n.bit_length() - 1)
    return n - n % 1024


def version_string(kind: str, role: str, digest: str, warm: bool, n_learned: int) -> str:
    """Return the model version of a model in a given state.

    >>> version_string("risk", "champion", "0123456789ab", False, 5)
    'risk-01234567-rules'
    >>> version_string("fraud", "challenger", "0123456789ab", True, 300)
    'fraud-challenger-01234567-n256'
    """
    prefix = kind if role == "champion" else f"{kind}-{role}"
    state = f"n{label_bucket(n_learned)}" if warm else "rules"
    return f"{prefix}-{digest[:8]}-{state}"
