"""Replies as JSON, for InboxUpdate.replies: stored with the effect, sent afterwards."""

from __future__ import annotations

import base64
from typing import Any

from services.conversation.messages import Button, OutgoingFile, Reply


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """One Reply as a JSON-safe dict (file bytes in base64)."""
    data: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        data["buttons"] = [[{"text": b.text, "data": b.data} for b in row] for row in reply.buttons]
    if reply.file is not None:
        data["file"] = {
            "kind": reply.file.kind,
            "file_name": reply.file.file_name,
            "data": base64.b64encode(reply.file.data).decode("ascii"),
        }
        if reply.file.path is not None:
            data["file"]["path"] = reply.file.path
        if reply.file.file_id is not None:
            data["file"]["file_id"] = reply.file.file_id
    if reply.chat_id is not None:
        data["chat_id"] = reply.chat_id
    if reply.edit:
        data["edit"] = True
    if reply.meta:
        data["meta"] = reply.meta
    return data


def reply_from_json(data: dict[str, Any]) -> Reply:
    """The inverse of :func:`reply_to_json`."""
    file = data.get("file")
    return Reply(
        text=data.get("text", ""),
        buttons=tuple(
            tuple(Button(text=b["text"], data=b["data"]) for b in row) for row in data.get("buttons", ())
        ),
        file=OutgoingFile(
            file["kind"], file["file_name"], base64.b64decode(file["data"]),
            path=file.get("path"), file_id=file.get("file_id"),
        ) if file else None,
        chat_id=data.get("chat_id"),
        edit=bool(data.get("edit", False)),
        meta=dict(data.get("meta") or {}),
    )


def replies_to_json(replies: list[Reply]) -> list[dict[str, Any]]:
    """Replies as stored in InboxUpdate.replies."""
    return [reply_to_json(reply) for reply in replies]


def replies_from_json(data: list[dict[str, Any]] | None) -> list[Reply]:
    """Replies back from InboxUpdate.replies."""
    return [reply_from_json(item) for item in data or ()]
