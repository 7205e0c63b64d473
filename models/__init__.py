"""Online models: live churn, risk and fraud scores learned incrementally from labels.

See docs/models.md. The dataflow holds one `ModelSet`; `ModelSettings` is the
`[models]` configuration section; `MetricRow`s go to the `model_metrics` table.
Names are imported lazily, so `config.settings` can import `models.settings`
without pulling in the features (which import `config.settings` themselves).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.model_set import ModelSet
    from models.settings import ModelSettings
    from models.validation import MetricRow

__all__ = ["MetricRow", "ModelSet", "ModelSettings"]
_HOMES = {"ModelSet": "models.model_set", "ModelSettings": "models.settings",
          "MetricRow": "models.validation"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
