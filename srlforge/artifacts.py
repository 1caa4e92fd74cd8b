"""Run artifacts (datasets, checkpoints, reports) in a folder or an S3-compatible bucket.

``ArtifactStore(url)`` wraps an fsspec filesystem: ``file:///path`` or a plain path, or
``s3://bucket/prefix`` (``endpoint_url`` for MinIO). S3 credentials come only from the standard
AWS variables or fsspec's config, never from the URL, so neither task arguments nor error
messages can carry them. A folder is pushed file by file and a ``_COMPLETE`` marker (its file
list and sizes) is written last: a key without the marker is an upload that did not finish, and
``pull`` treats it as absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from urllib.parse import urlsplit

MARKER = "_COMPLETE"
# Values masked from any error text we pass on, whatever the storage layer put there.
_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
try:  # missing or refused credentials surface as botocore errors, not OSError
    from botocore.exceptions import BotoCoreError

    _ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, KeyError, BotoCoreError)
except ImportError:
    _ERRORS = (OSError, ValueError, KeyError)


class ArtifactStoreError(RuntimeError):
    """The store cannot be used; the message names the URL (no credentials) and the fix."""


def _redact(text: str) -> str:
    for name in _CREDENTIAL_VARS:
        value = os.environ.get(name)
        if value:
            text = text.replace(value, "***")
    return text


class ArtifactStore:
    def __init__(self, url: str, *, endpoint_url: str | None = None) -> None:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            raise ArtifactStoreError(
                "the artifacts URL must not carry credentials; put them in AWS_ACCESS_KEY_ID / "
                "AWS_SECRET_ACCESS_KEY (or fsspec's config) and use s3://bucket/prefix"
            )
        protocol = parts.scheme if len(parts.scheme) > 1 else "file"  # C:\ is a path
        if protocol == "file":
            root = parts.path if parts.scheme else url
            self.url = f"file://{Path(root).resolve()}"
            self.root = str(Path(root).resolve())
            options: dict[str, object] = {"auto_mkdir": True}
        elif protocol in ("s3", "s3a"):
            self.url = f"s3://{parts.netloc}{parts.path}".rstrip("/")
            self.root = f"{parts.netloc}{parts.path}".rstrip("/")
            options = {"endpoint_url": endpoint_url} if endpoint_url else {}
        else:
            raise ArtifactStoreError(
                f"artifact store {url!r}: unsupported scheme {protocol!r}; use a path, "
                "file:///path or s3://bucket/prefix"
            )
        try:
            import fsspec

            self.fs = fsspec.filesystem("s3" if protocol == "s3a" else protocol, **options)
        except ImportError as exc:
            raise ArtifactStoreError(
                f"artifact store {self.url}: {exc.name or protocol} is not installed; "
                "pip install 'srlforge[serve]'"
            ) from None

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    def _path(self, key: str, *rest: str) -> str:
        clean = key.strip("/")
        if not clean or ".." in clean.split("/"):
            raise ArtifactStoreError(f"artifact store {self.url}: invalid key {key!r}")
        return "/".join([self.root, clean, *rest])

    def _fail(self, action: str, key: str, exc: Exception) -> ArtifactStoreError:
        hint = (
            "check the bucket exists, the endpoint URL and AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY"
            if self.url.startswith("s3://")
            else "check the folder exists and is writable"
        )
        detail = _redact(str(exc))[:300]
        return ArtifactStoreError(
            f"artifact store {self.url}: cannot {action} {key!r} "
            f"({type(exc).__name__}: {detail}); {hint}"
        )

    def exists(self, key: str) -> bool:
        """Whether a complete upload of ``key`` is there."""
        try:
            return self.fs.exists(self._path(key, MARKER))
        except _ERRORS as exc:
            raise self._fail("read", key, exc) from None

    def push(self, local_dir: Path, key: str, *, exclude: Collection[str] = ()) -> int:
        """Upload ``local_dir`` to ``key`` (top-level names in ``exclude`` left out), then the
        marker; return the number of files. A re-push first removes the old marker, so a reader
        never takes a half-replaced folder as complete."""
        local_dir = Path(local_dir)
        files = {
            path.relative_to(local_dir).as_posix(): path.stat().st_size
            for path in sorted(local_dir.rglob("*"))
            if path.is_file()
            and path.name != MARKER
            and path.relative_to(local_dir).parts[0] not in exclude
        }
        try:
            marker = self._path(key, MARKER)
            if self.fs.exists(marker):
                self.fs.rm(marker)
            for name in files:
                self.fs.put_file(str(local_dir / name), self._path(key, name))
            with self.fs.open(marker, "w") as handle:
                handle.write(json.dumps({"files": files}))
        except _ERRORS as exc:
            raise self._fail("upload", key, exc) from None
        return len(files)

    def pull(self, key: str, local_dir: Path) -> bool:
        """Download a complete ``key`` into ``local_dir``; False (nothing written) when its
        marker is missing. Files already there with the recorded size are kept."""
        local_dir = Path(local_dir)
        try:
            marker = self._path(key, MARKER)
            if not self.fs.exists(marker):
                return False
            with self.fs.open(marker, "r") as handle:
                files: dict[str, int] = json.loads(handle.read())["files"]
            for name, size in files.items():
                target = local_dir / name
                if target.is_file() and target.stat().st_size == size:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".partial")
                self.fs.get_file(self._path(key, name), str(partial))
                partial.replace(target)  # a reader never sees a half-written file
        except _ERRORS as exc:
            raise self._fail("download", key, exc) from None
        return True
