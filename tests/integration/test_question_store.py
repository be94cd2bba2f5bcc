"""Questions and votes on a real database: optimistic saves, vote counts, stage constraints."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError

from server.domain.errors import Conflict
from server.domain.questions import QuestionState
from server.services import views
from server.store import questions as question_store
from server.store.database import Database
from server.store.models import QuestionRow, VoteRow
from tests.integration import factories


async def seed_question(db: Database, voters: int = 0):
    """An event, an approved question, and `voters` other viewers of the event."""
    async with db.write() as work:
        event = await factories.event(work.session)
        author = await factories.viewer(work.session, event)
        question = await factories.question(work.session, event, author)
        others = await factories.viewers(work.session, event, voters)
    return event, question, others


async def load(db: Database, question_id: int) -> QuestionRow:
    async with db.read() as session:
        return await session.get(QuestionRow, question_id)


async def vote_rows(db: Database, question_id: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(VoteRow).where(VoteRow.question_id == question_id)
        return (await session.execute(query)).scalar_one()


async def test_save_with_a_stale_version_raises_conflict_and_changes_nothing(db: Database):
    event, question, _ = await seed_question(db)
    first, second = await load(db, question.id), await load(db, question.id)

    async with db.write(event.id) as work:
        edited = dataclasses.replace(question_store.to_domain(first), text="First edit")
        await question_store.save(work.session, first, edited)
    with pytest.raises(Conflict):
        async with db.write(event.id) as work:
            stale = dataclasses.replace(question_store.to_domain(second), text="Second edit")
            stale.state = QuestionState.REJECTED
            await question_store.save(work.session, second, stale)

    stored = await load(db, question.id)
    assert (stored.text, stored.state, stored.version) == ("First edit", "approved", 2)


async def test_save_after_reloading_the_new_version_succeeds(db: Database):
    event, question, _ = await seed_question(db)
    for text in ("One", "Two"):
        row = await load(db, question.id)
        async with db.write(event.id) as work:
            await question_store.save(
                work.session, row, dataclasses.replace(question_store.to_domain(row), text=text)
            )

    stored = await load(db, question.id)
    assert (stored.text, stored.version) == ("Two", 3)


async def test_same_viewer_voting_twice_counts_once(db: Database):
    event, question, [voter] = await seed_question(db, voters=1)

    async with db.write(event.id) as work:
        assert await question_store.add_vote(work.session, question.id, voter.id) is True
    async with db.write(event.id) as work:
        assert await question_store.add_vote(work.session, question.id, voter.id) is False

    assert (await load(db, question.id)).votes == 1
    assert await vote_rows(db, question.id) == 1


async def test_taking_back_a_vote_that_was_never_cast_changes_nothing(db: Database):
    event, question, [voter, other] = await seed_question(db, voters=2)
    async with db.write(event.id) as work:
        await question_store.add_vote(work.session, question.id, voter.id)

    async with db.write(event.id) as work:
        assert await question_store.remove_vote(work.session, question.id, other.id) is False
        assert await question_store.remove_vote(work.session, question.id, voter.id) is True

    assert (await load(db, question.id)).votes == 0
    assert await vote_rows(db, question.id) == 0


async def test_concurrent_votes_count_each_distinct_voter_exactly_once(db: Database):
    _, question, voters = await seed_question(db, voters=50)

    async def vote(viewer_id: int) -> bool:
        # No event id: on PostgreSQL nothing in-process serialises these writes, so the
        # count must come out right from the database's own constraints.
        async with db.write() as work:
            return await question_store.add_vote(work.session, question.id, viewer_id)

    attempts = [voter.id for voter in voters] * 2
    accepted = await asyncio.gather(*(vote(viewer_id) for viewer_id in attempts))

    assert sum(accepted) == len(voters)
    assert (await load(db, question.id)).votes == len(voters)
    assert await vote_rows(db, question.id) == len(voters)


async def test_concurrent_vote_takebacks_count_each_voter_once(db: Database):
    event, question, voters = await seed_question(db, voters=20)
    async with db.write(event.id) as work:
        for voter in voters:
            await question_store.add_vote(work.session, question.id, voter.id)

    async def take_back(viewer_id: int) -> bool:
        async with db.write() as work:
            return await question_store.remove_vote(work.session, question.id, viewer_id)

    keep, drop = voters[:5], voters[5:]
    attempts = [voter.id for voter in drop] * 2
    await asyncio.gather(*(take_back(viewer_id) for viewer_id in attempts))

    assert await vote_rows(db, question.id) == len(keep)
    assert (await load(db, question.id)).votes == len(keep)


async def test_moving_votes_counts_a_voter_of_both_questions_once(db: Database):
    event, source, [a, b, shared, d] = await seed_question(db, voters=4)
    async with db.write(event.id) as work:
        author = await factories.viewer(work.session, event)
        target = await factories.question(work.session, event, author)
        for voter in (a, b, shared):
            await question_store.add_vote(work.session, source.id, voter.id)
        for voter in (shared, d):
            await question_store.add_vote(work.session, target.id, voter.id)

    async with db.write(event.id) as work:
        total = await question_store.move_votes(work.session, source.id, target.id)

    assert total == 4
    assert (await load(db, target.id)).votes == 4
    assert await vote_rows(db, target.id) == 4
    async with db.read() as session:
        assert sorted(await question_store.voted_question_ids(session, shared.id)) == sorted(
            [source.id, target.id]
        )


async def test_a_second_question_on_the_same_stage_is_refused(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
        author = await factories.viewer(work.session, event)
        room = await factories.room(work.session, event)
        first = await factories.question(
            work.session, event, author, state="on_stage", stage_room_id=room.id
        )

    with pytest.raises(IntegrityError):
        async with db.write(event.id) as work:
            await factories.question(
                work.session, event, author, state="on_stage", stage_room_id=room.id
            )

    async with db.read() as session:
        assert (await question_store.on_stage(session, room.id)).id == first.id


async def test_each_room_has_its_own_stage_and_answered_questions_do_not_occupy_it(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
        author = await factories.viewer(work.session, event)
        rooms = [await factories.room(work.session, event) for _ in range(2)]
        on_stage = [
            await factories.question(
                work.session, event, author, state="on_stage", stage_room_id=room.id
            )
            for room in rooms
        ]
        for _ in range(3):
            await factories.question(
                work.session, event, author, state="answered", stage_room_id=rooms[0].id
            )

    async with db.read() as session:
        shown = [await question_store.on_stage(session, room.id) for room in rooms]
    assert [row.id for row in shown] == [row.id for row in on_stage]


async def test_running_order_lists_only_queued_questions_in_their_set_order(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
        author = await factories.viewer(work.session, event)
        room = await factories.room(work.session, event)
        queued = [
            await factories.question(
                work.session, event, author, state="queued", stage_room_id=room.id
            )
            for _ in range(3)
        ]
        await factories.question(
            work.session, event, author, state="on_stage", stage_room_id=room.id
        )

    wanted = [queued[2].id, queued[0].id, queued[1].id]
    async with db.write(event.id) as work:
        await question_store.set_running_order(work.session, wanted)

    async with db.read() as session:
        assert [row.id for row in await question_store.running_order(session, room.id)] == wanted


async def test_a_client_id_is_unique_per_viewer_but_not_across_viewers(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
        alice, bob = await factories.viewers(work.session, event, 2)
        await factories.question(work.session, event, alice, client_id="same")
        await factories.question(work.session, event, bob, client_id="same")

    with pytest.raises(IntegrityError):
        async with db.write(event.id) as work:
            await factories.question(work.session, event, alice, client_id="same")

    async with db.read() as session:
        found = await question_store.find_by_client_id(session, alice.id, "same")
        assert found is not None and found.viewer_id == alice.id


async def test_batch_vote_statements_change_and_report_only_what_changed(db: Database):
    event, question, voters = await seed_question(db, voters=40)
    pairs = [(question.id, voter.id) for voter in voters]
    async with db.write(event.id) as work:
        first = await question_store.add_votes(work.session, pairs[:30])

    async with db.write(event.id) as work:
        session = work.session
        added = await question_store.add_votes(session, pairs)
        removed = await question_store.remove_votes(session, [*pairs[:5], (question.id, 10**9)])
        await question_store.bump_votes(session, {question.id: 35, question.id + 1: 0})
        counts = await question_store.vote_counts(session, [question.id, 10**9])
        targets = await question_store.vote_targets(session, {question.id, 10**9})

    assert first == set(pairs[:30])
    assert added == set(pairs[30:])
    assert removed == set(pairs[:5])
    assert counts == {question.id: 35}
    target = targets[question.id]
    assert list(targets) == [question.id]
    assert (target.event_id, target.state, target.viewer_id, target.merged_into_id) == (
        event.id,
        "approved",
        question.viewer_id,
        None,
    )
    assert target.votes == 35 == (await load(db, question.id)).votes
    assert await vote_rows(db, question.id) == 35


async def test_a_vote_stored_in_a_batch_keeps_its_time_as_the_orm_stores_it(db: Database):
    event, question, [batch_voter, orm_voter] = await seed_question(db, voters=2)
    async with db.write(event.id) as work:
        await question_store.add_votes(work.session, [(question.id, batch_voter.id)])
    async with db.read() as session:
        moment = (await session.get(VoteRow, (question.id, batch_voter.id))).created_at

    async with db.write(event.id) as work:
        work.session.add(
            VoteRow(question_id=question.id, viewer_id=orm_voter.id, created_at=moment)
        )

    query = sql_text(
        "SELECT CAST(created_at AS TEXT) FROM votes WHERE question_id = :q ORDER BY viewer_id"
    )
    async with db.read() as session:
        by_batch, by_orm = (await session.execute(query, {"q": question.id})).scalars()
    assert by_batch == by_orm
    assert datetime.now(UTC) - views.as_utc(moment) < timedelta(minutes=1)
