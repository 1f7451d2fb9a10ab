"""The task record."""

from dataclasses import dataclass


@dataclass
class Task:
    """One thing to do."""

    title: str
    done: bool = False
    priority: int = 0
