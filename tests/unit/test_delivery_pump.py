"""delivery/pump.py's GroupCommit: turns and replied marks that wait together are committed
together; a failure fails only what it must."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from delivery.pump import GroupCommit
from services.conversation.messages import Incoming


def incoming(text: str) -> Incoming:
    return Incoming(sender_id=1, chat_id=1, text=text)


def transient(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError)


class Recorder:
    """A commit function that notes each batch and answers each turn with its text (after
    a pause, as a worker thread or process would)."""

    def __init__(self, fail_on: str | None = None, error: Exception | None = None,
                 hold: asyncio.Event | None = None) -> None:
        self.batches: list[tuple[list[str], list[int]]] = []
        self.fail_on = fail_on
        self.error = error or RuntimeError("bug")
        self.hold = hold  # the first batch stays in its commit until this is set

    async def __call__(self, turns, replied):
        texts = [i.text for i, _ in turns]
        self.batches.append((texts, list(replied)))
        if self.hold is not None and len(self.batches) == 1:
            await self.hold.wait()
        await asyncio.sleep(0.005)
        if self.fail_on in texts:
            raise self.error
        return [f"done {text}" for text in texts]


async def test_what_waits_together_is_committed_together():
    commit = Recorder()
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient)
    first = asyncio.ensure_future(commits.handle(incoming("a"), 1))
    commits.mark_replied(7)  # not awaited: it rides with the batch
    results = await asyncio.gather(first, commits.handle(incoming("b"), 2))
    assert results == ["done a", "done b"]
    assert commit.batches == [(["a", "b"], [7])]


async def test_the_next_batch_gathers_while_one_runs():
    release = asyncio.Event()
    commit = Recorder(hold=release)
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient)
    first = asyncio.ensure_future(commits.handle(incoming("a"), 1))
    while not commit.batches:  # "a" is in its commit, and stays there until released
        await asyncio.sleep(0)
    rest = []
    for n, text in enumerate("bcd", start=2):  # they arrive one by one while "a" commits
        rest.append(asyncio.ensure_future(commits.handle(incoming(text), n)))
        await asyncio.sleep(0.001)
    assert len(commit.batches) == 1  # nothing else was started while "a" holds the commit
    release.set()
    assert await asyncio.gather(first, *rest) == ["done a", "done b", "done c", "done d"]
    assert [texts for texts, _ in commit.batches] == [["a"], ["b", "c", "d"]]


async def test_a_turn_that_fails_fails_alone():
    commit = Recorder(fail_on="bad")
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient)
    commits.mark_replied(9)
    results = await asyncio.gather(
        commits.handle(incoming("a"), 1), commits.handle(incoming("bad"), 2), commits.handle(incoming("c"), 3),
        return_exceptions=True,
    )
    assert results[0] == "done a" and results[2] == "done c"
    assert isinstance(results[1], RuntimeError)
    # one try together, then the marks, then each turn alone
    assert commit.batches == [(["a", "bad", "c"], [9]), ([], [9]), (["a"], []), (["bad"], []), (["c"], [])]


async def test_a_passing_failure_fails_the_whole_batch_for_a_retry():
    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    commit = Recorder(fail_on="a", error=error)
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient)
    results = await asyncio.gather(
        commits.handle(incoming("a"), 1), commits.handle(incoming("b"), 2), return_exceptions=True
    )
    assert all(result is error for result in results)
    assert len(commit.batches) == 1


async def test_marks_of_a_failed_batch_go_with_the_next_one():
    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    commit = Recorder(fail_on="a", error=error)
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient)
    commits.mark_replied(5)
    with pytest.raises(OperationalError):
        await commits.handle(incoming("a"), 1)
    await commits.settled()
    assert commit.batches == [(["a"], [5])]  # not retried on its own in a loop
    assert await commits.handle(incoming("b"), 2) == "done b"
    assert commit.batches[-1] == (["b"], [5])


async def test_settled_waits_for_marks_in_flight():
    commit = Recorder()
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient)
    commits.mark_replied(3)
    commits.mark_replied(4)
    await commits.settled()
    assert commit.batches == [([], [3, 4])]


async def test_batches_hold_the_gate():
    gate = asyncio.Semaphore(1)
    commit = Recorder()
    commits = GroupCommit(commit, gate, is_transient=transient)
    async with gate:  # another writer holds the database
        waiting = asyncio.ensure_future(commits.handle(incoming("a"), 1))
        await asyncio.sleep(0.05)
        assert not waiting.done() and commit.batches == []
    assert await waiting == "done a"


@pytest.mark.parametrize("size", [1, 3])
async def test_turns_per_batch_are_capped(size):
    commit = Recorder()
    commits = GroupCommit(commit, asyncio.Semaphore(1), is_transient=transient, max_turns=size)
    await asyncio.gather(*(commits.handle(incoming(str(n)), n) for n in range(7)))
    assert all(len(texts) <= size for texts, _ in commit.batches)
    assert sum(len(texts) for texts, _ in commit.batches) == 7
