"""The live-demo harness: producers, the development broker, the demo and its view."""
