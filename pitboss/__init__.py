"""Pitboss: real-time player protection and engagement for online gambling operators."""
