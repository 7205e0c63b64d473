"""Online models: live churn, risk and fraud scores learned incrementally from labels.

See docs/models.md. The dataflow holds one `ModelSet` (`pitboss.models.model_set`);
`ModelSettings` is the `[models]` configuration section (`pitboss.config.models`);
`MetricRow`s go to the `model_metrics` table (`pitboss.models.validation`). Import each
from its module: this package imports nothing, so reading the configuration does not
load the models.
"""
