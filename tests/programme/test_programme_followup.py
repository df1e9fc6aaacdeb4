"""Between visits: the clinician's edit, and what the worklist is told (worse, warning, missed).

Boundary pairs for every flag threshold, written here (not read from the knowledge).
"""

from __future__ import annotations

import datetime as dt

import pytest

from backstory.programme import CheckInAnswers, build_programme
from backstory.programme.followup import changes, is_worse, missed, reminder_due_on, signals

from .helpers import CONDITIONS, KN, build, report_of, screened

D0 = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("checkin", "worse"),
    [
        (CheckInAnswers(7, 6, 4, 5, 4, 0), True),  # pain +2
        (CheckInAnswers(6, 6, 4, 5, 4, 0), False),  # pain +1
        (CheckInAnswers(5, 6, 6, 5, 4, 0), True),  # fear +2
        (CheckInAnswers(5, 6, 5, 5, 4, 0), False),  # fear +1
        (CheckInAnswers(5, 4, 4, 5, 4, 0), True),  # confidence -2
        (CheckInAnswers(5, 5, 4, 5, 4, 0), False),  # confidence -1
    ],
)
def test_a_worse_check_in_by_the_knowledge_rule(checkin: CheckInAnswers, worse: bool) -> None:
    answers = screened(pain={"back": 5}, beliefs={"confidence_to_move": 6, "fear_of_movement": 4})
    assert is_worse(KN, changes(answers, [checkin])[-1]) is worse


def test_each_check_in_is_compared_with_the_one_before() -> None:
    answers = screened(pain={"back": 5})
    first = CheckInAnswers(3, 6, 4, 5, 4, 0)
    second = CheckInAnswers(5, 6, 4, 5, 4, 0)  # back to the assessment's 5: +2 on last week
    assert signals(KN, answers, [first, second], D0, D0).worse
    assert not signals(KN, answers, [first], D0, D0).worse


@pytest.mark.parametrize(("days", "count"), [(13, 1), (14, 2), (6, 0), (7, 1)])
def test_missed_check_ins(days: int, count: int) -> None:
    assert missed(KN, D0, D0 + dt.timedelta(days=days)) == count
    flagged = signals(KN, screened(), [], D0, D0 + dt.timedelta(days=days)).missed_flag(KN)
    assert flagged is (count >= 2)


def test_warning_answers_yes_and_not_sure_are_both_signals() -> None:
    yes = CheckInAnswers(5, 6, 4, 5, 4, 0, {"red_flags.saddle_anaesthesia": True})
    unsure = CheckInAnswers(5, 6, 4, 5, 4, 0, {"red_flags.bladder_dysfunction": None})
    no = CheckInAnswers(5, 6, 4, 5, 4, 0, {"red_flags.bladder_dysfunction": False})
    assert signals(KN, screened(), [yes], D0, D0).warning == ("red_flags.saddle_anaesthesia",)
    assert signals(KN, screened(), [unsure], D0, D0).unsure == ("red_flags.bladder_dysfunction",)
    got = signals(KN, screened(), [no], D0, D0)
    assert got.warning == () and got.unsure == ()


def test_the_clinician_chooses_the_exercises_and_the_walk() -> None:
    data = screened()
    default = build(data)
    ids = [e.id for e in default.current.exercises]
    chosen = list(reversed(ids))
    prog = build(data, exercises=chosen, start_minutes=12)
    assert [e.id for e in prog.current.exercises] == chosen
    assert prog.current.activity_minutes == 12
    # a good week adds the next exercise from the ranked list, after the chosen ones
    good = CheckInAnswers(5, 6, 4, 5, 4, 0)
    later = build(data, exercises=chosen, checkins=[good])
    assert [e.id for e in later.current.exercises][: len(chosen)] == chosen


def test_an_edit_cannot_give_an_exercise_whose_caution_applies() -> None:
    data = screened(red_flags={"osteoporosis": True})
    report = report_of(data)
    prog = build_programme(report, data, KN, conditions=CONDITIONS)
    if not prog.left_out:
        pytest.skip("no exercise is left out for this answer")
    barred = prog.left_out[0].id
    ok = [e.id for e in prog.current.exercises][:2]
    with pytest.raises(ValueError, match="cannot be given"):
        build_programme(report, data, KN, conditions=CONDITIONS, exercises=[*ok, barred])


@pytest.mark.parametrize(("n", "ok"), [(2, False), (3, True), (5, True), (6, False)])
def test_an_edit_keeps_three_to_five_exercises(n: int, ok: bool) -> None:
    data = screened()
    from backstory.programme.generate import exercise_options

    options, _ = exercise_options(report_of(data), data, KN, conditions=CONDITIONS)
    chosen = [e.id for e, _why in options][:n]
    if len(chosen) < n:
        pytest.skip("the library is smaller than this")
    if ok:
        assert len(build(data, exercises=chosen).current.exercises) == n
    else:
        with pytest.raises(ValueError, match="choose"):
            build(data, exercises=chosen)


@pytest.mark.parametrize(
    ("minutes", "ok"),
    [
        (KN.activity.min_minutes, True),
        (KN.activity.min_minutes - 1, False),
        (KN.activity.max_minutes, True),
        (KN.activity.max_minutes + 1, False),
    ],
)
def test_the_walk_stays_within_its_limits(minutes: int, ok: bool) -> None:
    if ok:
        assert build(screened(), start_minutes=minutes).current.activity_minutes == minutes
    else:
        with pytest.raises(ValueError, match="walk"):
            build(screened(), start_minutes=minutes)


@pytest.mark.parametrize(
    ("days", "checked_in", "due_on"),
    [
        (6, 0, None),  # a day before the first check-in falls due
        (7, 0, 7),  # due on the seventh day
        (13, 0, 7),  # still the same due week: one reminder for it
        (14, 0, 14),  # the next week falls due: a new reminder
        (7, 6, 7),  # the last week's check-in is awaited
        (7, 7, None),  # the last week (7 sessions) has been checked in
        (49, 0, 49),  # seven weeks without a check-in: still within the programme
        (56, 0, None),  # eight: longer than the whole programme, nothing is due any more
    ],
)
def test_the_check_in_a_reminder_is_due_for(days: int, checked_in: int, due_on: int | None) -> None:
    assert len(KN.education) == 7 and KN.checkin.flags.every_days == 7
    got = reminder_due_on(KN, D0, D0 + dt.timedelta(days=days), checked_in)
    assert got == (None if due_on is None else D0 + dt.timedelta(days=due_on))
