"""The fast manager's own record of each client's rooms agrees with python-socketio's."""

from __future__ import annotations

import socketio
from hypothesis import given
from hypothesis import strategies as st

from server.realtime.fanout import FanoutManager

SIDS = ["a", "b", "c"]
NAMESPACES = ["/viewer", "/stage"]
ROOMS = ["event:1", "viewer:7", "watching:1:2"]

operations = st.lists(
    st.tuples(
        st.sampled_from(["connect", "pending", "enter", "leave", "disconnect", "close"]),
        st.sampled_from(SIDS),
        st.sampled_from(NAMESPACES),
        st.sampled_from(ROOMS),
    ),
    max_size=40,
)


def apply(manager: socketio.AsyncManager, operation: tuple[str, str, str, str]) -> None:
    kind, sid, namespace, room = operation
    connected = manager.is_sid_room(namespace, sid)
    if kind == "connect" and not connected:
        manager.basic_enter_room(sid, namespace, None, eio_sid=f"eio-{sid}")
        manager.basic_enter_room(sid, namespace, sid, eio_sid=f"eio-{sid}")
        manager.callbacks[sid] = {}
    elif kind == "pending" and connected and sid not in manager.pending_connect.get(namespace, []):
        manager.pending_connect.setdefault(namespace, []).append(sid)
    elif kind == "enter" and connected:
        manager.basic_enter_room(sid, namespace, room)
    elif kind == "leave":
        manager.basic_leave_room(sid, namespace, room)
    elif kind == "disconnect":
        manager.basic_disconnect(sid, namespace)
    elif kind == "close" and namespace in manager.rooms:
        manager.basic_close_room(room, namespace)


def state(manager: socketio.AsyncManager) -> dict:
    return {
        "rooms": {
            ns: {r: dict(m) for r, m in rooms.items()} for ns, rooms in manager.rooms.items()
        },
        "of": {(ns, s): sorted(manager.get_rooms(s, ns)) for ns in NAMESPACES for s in SIDS},
        "callbacks": sorted(manager.callbacks),
        "pending": manager.pending_connect,
    }


@given(operations)
def test_rooms_callbacks_and_pending_connections_match_python_socketio(steps):
    stock, fast = socketio.AsyncManager(), FanoutManager()
    for step in steps:
        apply(stock, step)
        apply(fast, step)
        assert state(fast) == state(stock)


def test_a_disconnecting_client_leaves_all_its_rooms_and_no_one_elses():
    manager = FanoutManager()
    for sid in SIDS:
        for room in (None, sid, "event:1", f"viewer:{sid}"):
            manager.basic_enter_room(sid, "/viewer", room, eio_sid=f"eio-{sid}")
    manager.basic_disconnect("b", "/viewer")
    assert manager.get_rooms("b", "/viewer") == []
    assert sorted(manager.get_rooms("a", "/viewer")) == ["a", "event:1", "viewer:a"]
    assert [sid for sid, _ in manager.get_participants("/viewer", "event:1")] == ["a", "c"]
    assert "viewer:b" not in manager.rooms["/viewer"]
