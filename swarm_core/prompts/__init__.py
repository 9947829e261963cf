"""Prompts of the lanes, verification passes and coordinator: data files read with importlib.resources."""
