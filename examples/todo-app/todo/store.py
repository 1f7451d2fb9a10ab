"""An in-memory store of tasks."""

from typing import List

from todo.models import Task


class TodoStore:
    """Keeps tasks in the order they were added."""

    def __init__(self) -> None:
        self.tasks: List[Task] = []

    def add(self, title: str, priority: int = 0) -> Task:
        """Adds an open task and returns it."""
        task = Task(title=title, priority=priority)
        self.tasks.append(task)
        return task

    def complete(self, title: str) -> None:
        """Marks the first task with this title done; KeyError when there is none."""
        for task in self.tasks:
            if task.title == title:
                task.done = True
                return
        raise KeyError(title)

    def pending(self) -> List[Task]:
        """The open tasks, in order."""
        return [task for task in self.tasks if not task.done]
