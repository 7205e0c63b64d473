"""The case review console: a web application for responsible-gambling and fraud specialists.

`pitboss console serve` puts open reviews (`actions.reviews`), each player's story
(features, scores, decisions with the gate rule that held them back, interventions'
follow-up) and a verdict form in front of the people who answer reviews. It reads a
ClickHouse store (a replay's embedded chDB, read-only, or a server DSN) and, when a
broker is given, the live action and outcome topics; a verdict is a `review_decision`
event produced to the outcomes topic through the checked `ActionProducer`, with the
authenticated user as its reviewer. Modules: `users` (password file and roles),
`login_throttle` (failed logins), `csrf` (per-session tokens), `store` (ClickHouse
reads), `feed` (Kafka reads), `verdicts` (the one write), `charts` (server-side SVG),
`web` (routes and templates).
"""
