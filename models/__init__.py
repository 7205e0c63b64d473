"""Online models: live churn, risk and fraud scores learned incrementally from labels.

See docs/models.md. The dataflow holds one `ModelSet`; `ModelSettings` is the
`[models]` configuration section; `MetricRow`s go to the `model_metrics` table.
"""

from models.model_set import ModelSet
from models.settings import ModelSettings
from models.validation import MetricRow

__all__ = ["MetricRow", "ModelSet", "ModelSettings"]
