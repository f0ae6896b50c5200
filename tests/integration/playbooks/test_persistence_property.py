"""Random command sequences through the database-backed service end in exactly the state the pure
machine computes: nothing is lost or altered by storing and reloading a run."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.playbooks.machine import Start, TransitionRejected, apply, invariant_violations, plan_run
from bot.playbooks.validate import load_playbooks
from tests.unit.playbooks.test_machine import _event_strategy

PLAYBOOK = load_playbooks().find("product-complaint")
ANSWERS = sorted({a for s in PLAYBOOK.steps for a in s.branches})
EVENTS = st.lists(
    _event_strategy([s.id for s in PLAYBOOK.steps], ANSWERS, list(PLAYBOOK.roles)).filter(lambda e: e.kind != "start"),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_stored_runs_match_the_pure_machine(bot, clock, events):
    service = bot.services.playbooks
    view = service.start_run("console:lanji", PLAYBOOK.id, "性质测试", 2, None, "console:lead")
    expected = apply(plan_run(PLAYBOOK), Start("console:lead"), clock.now()).state
    accepted = 1
    for event in events:
        clock.advance(timedelta(minutes=7))
        try:
            expected_next = apply(expected, event, clock.now()).state
        except TransitionRejected:
            try:
                service.transition(view.id, event)
            except TransitionRejected:
                continue
            raise AssertionError(f"the service accepted what the machine refused: {event}") from None
        service.transition(view.id, event)
        expected, accepted = expected_next, accepted + 1
    stored = service.get(view.id)
    assert stored.state == expected
    assert not invariant_violations(stored.state)
    assert stored.version == accepted
    assert len(service.timeline(view.id)) == accepted
