"""After a run: reports, charts, comparisons, evaluations and the analysts' query."""
