"""The village-level open issues of a batch's villages, read with one SELECT.

A report names a village and a category; finding the issue it means was one SELECT per
report (:func:`services.issues.open_issues_for`), a round trip to the server each time.
The engine knows, before a batch of turns starts, the villages its senders look after
(a village cadre's scope), and most reports are about those: :func:`preload_village_issues`
reads their village-level non-closed issues at once (in code order, with the same places
loaded), and :func:`preloaded_village_issues` answers from them.

They answer only while nothing in the session may have changed which issues they are:
any flush that adds, changes or deletes an issue, any rollback (a refused turn's savepoint
too), and any INSERT, UPDATE or DELETE run through the session drop them, except a
statement marked :data:`KEEPS_PRELOADED_ISSUES` (a report's write: it changes only status,
deadline and version, never which village, household or category an issue has, nor whether
it is closed, and tells the loaded issue what it changed). Household issues are not
preloaded: when a village has no village-level issue of the category, the SELECT runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, select, tuple_
from sqlalchemy.orm import ORMExecuteState, Session, joinedload

from db.models import Issue, Township, Village
from vocab import IssueStatus

# Execution option of a statement that leaves the preloaded issues as they are (see above).
KEEPS_PRELOADED_ISSUES = "keeps_preloaded_issues"
_PRELOADED = "village_issues"  # session.info key: {village_id: [Issue, ...]}, code order
_WATCHED = "village_issues_watched"  # session.info key: listeners attached


def preload_village_issues(session: Session, places: Iterable[tuple[str, str]]) -> None:
    """Read the village-level non-closed issues of the villages (township, village) with one
    SELECT, for :func:`preloaded_village_issues`."""
    wanted = sorted(set(places))
    if not wanted:
        return
    _watch(session)
    villages = select(Village.id).join(Township).where(tuple_(Township.name, Village.name).in_(wanted))
    issues = session.scalars(
        select(Issue)
        .where(Issue.village_id.in_(villages), Issue.household_id.is_(None),
               Issue.status != IssueStatus.CLOSED.value)
        .options(joinedload(Issue.village).joinedload(Village.township), joinedload(Issue.household))
        .order_by(Issue.code)
    ).unique().all()
    by_village: dict[int, list[Issue]] = {}
    for issue in issues:
        by_village.setdefault(issue.village_id, []).append(issue)
    session.info[_PRELOADED] = by_village


def preloaded_village_issues(session: Session, village_id: int, category: str | None) -> list[Issue] | None:
    """The village's non-closed village-level issues (of ``category``, when given) in code
    order, as preloaded; None when there are none to give (not preloaded, dropped since,
    or none of them fits: then household issues may, and the caller asks the database)."""
    preloaded = session.info.get(_PRELOADED, {}).get(village_id)
    if not preloaded:
        return None
    fitting = [
        issue for issue in preloaded
        if issue.village_id == village_id and issue.household_id is None
        and issue.status != IssueStatus.CLOSED and (category is None or issue.category == category)
    ]
    return fitting or None


def _watch(session: Session) -> None:
    if session.info.get(_WATCHED):
        return
    session.info[_WATCHED] = True
    event.listen(session, "do_orm_execute", _on_execute)
    event.listen(session, "after_flush", _on_flush)
    event.listen(session, "after_soft_rollback", _on_rollback)


def _drop(session: Session) -> None:
    session.info.pop(_PRELOADED, None)


def _on_execute(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and not state.execution_options.get(
        KEEPS_PRELOADED_ISSUES
    ):
        _drop(state.session)


def _on_flush(session: Session, _flush_context) -> None:
    if any(isinstance(obj, Issue) for obj in (*session.new, *session.dirty, *session.deleted)):
        _drop(session)


def _on_rollback(session: Session, _previous_transaction) -> None:
    _drop(session)
