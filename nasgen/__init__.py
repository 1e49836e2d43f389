"""nasgen: hierarchical generative neural architecture search.

The library is orchestrator-free: nothing under ``nasgen/`` imports Prefect.
"""

__version__ = "0.1.0"
