"""Podium: self-hosted hub for hybrid events."""
