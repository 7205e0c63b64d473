"""The case review console: a web application for responsible-gambling and fraud specialists.

`pitboss console serve` puts open reviews (`actions.reviews`), each player's story
(features, scores, decisions with the gate rule that held them back, interventions'
follow-up) and a verdict form in front of the people who answer reviews. It reads a
ClickHouse store (a replay's embedded chDB, read-only, or a server DSN) and, when a
broker is given, the live action and outcome topics; a verdict is a `review_decision`
event produced to the outcomes topic through the checked `ActionProducer`, with the
authenticated user as its reviewer. Modules: `users` (password file and roles),
`login_throttle` (failed logins), `auth` (sessions, SSO header, CSRF), `store`
(ClickHouse reads), `feed` (Kafka reads, bounded), `cases` (the two merged), `verdicts`
(the one write), `charts` (server-side SVG), `row_groups` (audit rows for the eye),
`explain` (a decision in words), `web` (routes and templates), `server` (`console
serve`), `worker_console` (served from a live worker's process, on its store) and
`demo_console` (the demo's login).
"""
