"""File downloads of the export endpoints: the ``format`` parameter (CSV or JSON) and the
attachment response carrying rows so encoded (``api.services.exports.encode``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import Response

from api.services.exports import encode

#: ``responses=`` of a download route.
FILE = {200: {"content": {"text/csv": {}, "application/json": {}}}}


class Format(StrEnum):
    csv = "csv"
    json = "json"


def download(rows: list[dict[str, Any]], columns: list[str], fmt: Format, name: str) -> Response:
    """``rows`` as ``name.csv`` (``columns``, in that order) or ``name.json``."""
    body, media = encode(rows, columns, fmt.value)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'},
    )
