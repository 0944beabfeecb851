"""Evidence files the console keeps: content-addressed under the configured directory.

A file is stored at ``<dir>/<sha[:2]>/<sha>.<ext>`` and recorded by the engine as evidence
``zhenggai://files/<sha>.<ext>`` with its SHA-256, as an OA system's URI would be.  Uploads are
limited in size and to an allow-list of types; a file is only ever served as a download
(``application/octet-stream``, ``attachment``, ``nosniff``, a sandboxing CSP), never inline.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from ..engine.errors import InvalidInput, NotFound
from ..i18n import Text
from .settings import UiSettings

SCHEME = "zhenggai://files/"
STORED_RE = re.compile(r"^zhenggai://files/([0-9a-f]{64})\.([a-z0-9]{1,8})$")


def extension(filename: str, settings: UiSettings) -> str:
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext not in settings.allowed_types:
        raise InvalidInput(
            Text(
                f"不接受该类型的文件：{filename!r}（允许：{', '.join(sorted(settings.allowed_types))}）",
                f"this type of file is not accepted: {filename!r} (allowed: {', '.join(sorted(settings.allowed_types))})",
            ),
            field="file",
        )
    return ext


def store(data: bytes, ext: str, settings: UiSettings) -> tuple[str, str]:
    """Keep ``data``; returns its URI and SHA-256.  The same content is kept once."""
    if len(data) > settings.max_upload:
        mb = f"{settings.max_upload / (1 << 20):g}"
        raise InvalidInput(Text(f"文件超过 {mb} MB", f"the file is larger than {mb} MB"), field="file")
    if not data:
        raise InvalidInput(Text("文件为空", "the file is empty"), field="file")
    sha = hashlib.sha256(data).hexdigest()
    folder = settings.files_dir / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha}.{ext}"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    return f"{SCHEME}{sha}.{ext}", sha


def path_of(uri: str, settings: UiSettings) -> Path:
    m = STORED_RE.match(uri)
    if not m:
        raise NotFound(Text("该证据不是由本系统保存的文件", "this evidence is not a file kept here"))
    p = settings.files_dir / m.group(1)[:2] / f"{m.group(1)}.{m.group(2)}"
    if not p.is_file():
        raise NotFound(Text("证据文件不在存储目录中", "the evidence file is missing from the store"))
    return p
