"""Fakes that run real protocols on loopback: an LLM server (OpenAI-compatible and Anthropic)."""
