"""Online models: live churn, risk and fraud scores learned incrementally from labels.

See docs/models.md. The dataflow holds one `ModelSet` (`pitboss.models.model_set`);
its settings, the `[models]` configuration section, are `ModelSettings` in
`pitboss.config.models` (config/ imports no model); `MetricRow`s go to the
`model_metrics` table (`pitboss.models.validation`). Import each from its module: this
package imports nothing.
"""
