"""Plain-text rendering of tasks."""

from todo.models import Task


def format_task(task: Task) -> str:
    """One line: a checkbox, the title, and the priority when it is set."""
    box = "[x]" if task.done else "[ ]"
    line = f"{box} {task.title}"
    if task.priority:
        line += f" (p{task.priority})"
    return line
