import pytest

from todo.store import TodoStore


def test_add_and_complete():
    store = TodoStore()
    store.add("write docs", priority=2)
    store.add("ship")
    store.complete("ship")
    assert [task.title for task in store.pending()] == ["write docs"]


def test_complete_unknown_task():
    with pytest.raises(KeyError):
        TodoStore().complete("nothing")
