"""The reference: a plain aiohttp + python-socketio server broadcasting to one room.

Viewers connect to "/" and join the room "all". A client that connects with auth
{"role": "trigger"} stays out of the room and may send `broadcast`: the server acks at
once with the new `seq`, then emits a ~230-byte `broadcast` event to the room in the
background, the stock way (`AsyncServer.emit`), as Podium's publisher does after a commit.

    python -m bench.stock_server --port 8766
"""

from __future__ import annotations

import argparse

import socketio
from aiohttp import web

ROOM = "all"


def question_like(seq: int) -> dict:
    """A payload shaped and sized like a Podium question update (about 230 bytes)."""
    return {
        "seq": seq,
        "type": "question",
        "causes": ["QuestionApproved"],
        "question": {
            "id": 1000 + seq,
            "text": "How will the regional plan reach the villages?",
            "author": "Viewer",
            "session_id": None,
            "state": "approved",
            "votes": 0,
            "created_at": "2026-11-21T09:00:00+00:00",
        },
    }


def create_app(origin: str) -> web.Application:
    sockets = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[origin])
    app = web.Application()
    sockets.attach(app)
    state = {"seq": 0}

    @sockets.event
    async def connect(sid, environ, auth=None):
        role = auth.get("role") if isinstance(auth, dict) else None
        await sockets.save_session(sid, {"trigger": role == "trigger"})
        if role != "trigger":
            await sockets.enter_room(sid, ROOM)

    @sockets.event
    async def sync(sid, data=None):
        return {"ok": True, "data": {"mode": "snapshot", "seq": state["seq"]}}

    @sockets.event
    async def broadcast(sid, data=None):
        if not (await sockets.get_session(sid))["trigger"]:
            return {"ok": False, "error": {"code": "forbidden", "message": "viewers only listen"}}
        state["seq"] += 1
        seq = state["seq"]
        sockets.start_background_task(sockets.emit, "broadcast", question_like(seq), room=ROOM)
        return {"ok": True, "data": {"seq": seq}}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    web.run_app(
        create_app(f"http://{args.host}:{args.port}"),
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda text: print(text, flush=True),
    )
