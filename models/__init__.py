"""Online models: live churn, risk and fraud scores learned incrementally from labels.

See docs/models.md. The dataflow holds one `ModelSet`; `ModelSettings` is the
`[models]` configuration section; `MetricRow`s go to the `model_metrics` table.
Names are imported lazily, so `pitboss.config.settings` can import `pitboss.models.settings`
without pulling in the features (which import `pitboss.config.settings` themselves).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pitboss.models.model_set import ModelSet
    from pitboss.models.settings import ModelSettings
    from pitboss.models.validation import MetricRow

__all__ = ["MetricRow", "ModelSet", "ModelSettings"]
_HOMES = {"ModelSet": "pitboss.models.model_set", "ModelSettings": "pitboss.models.settings",
          "MetricRow": "pitboss.models.validation"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
