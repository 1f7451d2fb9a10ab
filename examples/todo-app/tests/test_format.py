from todo.format import format_task
from todo.models import Task


def test_open_task_with_priority():
    assert format_task(Task("ship", priority=1)) == "[ ] ship (p1)"


def test_done_task():
    assert format_task(Task("ship", done=True)) == "[x] ship"
