"""A tiny in-memory to-do list."""

from todo.format import format_task
from todo.models import Task
from todo.store import TodoStore

__all__ = ["Task", "TodoStore", "format_task"]
