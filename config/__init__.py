"""Configuration: packaged defaults and their validation at start-up."""
