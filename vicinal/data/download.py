"""Checksummed downloads written atomically (temporary file, fsync, rename) and safe tar extraction."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from vicinal.data.dataset import file_error

ChecksumAlgorithm = Literal["md5", "sha256"]
_CHUNK = 1 << 20


class DataNotFoundError(FileNotFoundError, ValueError):
    """A data set is in none of the places searched and could not be downloaded.

    A `ValueError` too, so a command line treats it like any other bad input.
    """


def file_digest(path: str | os.PathLike, algorithm: ChecksumAlgorithm = "md5") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    urls: Sequence[str],
    dest: str | os.PathLike,
    *,
    checksum: str,
    algorithm: ChecksumAlgorithm = "md5",
    timeout: float = 30.0,
) -> Path:
    """Fetch the first reachable URL into `dest`, verifying its checksum before it appears there.

    The bytes go to a temporary file beside `dest`, are hashed on the way, fsynced and renamed into
    place only if the digest matches, so `dest` is either absent or complete. A checksum mismatch
    raises `ValueError` naming the URL, the expected and the actual digest; when no URL can be read
    `DataNotFoundError` lists each URL with its error.
    """
    if algorithm not in ("md5", "sha256"):
        raise ValueError(f"algorithm must be 'md5' or 'sha256', got {algorithm!r}")
    if not urls:
        raise ValueError("urls must name at least one source, got none")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        handle, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            digest = hashlib.new(algorithm)
            with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            tmp.unlink(missing_ok=True)
            failures.append(f"{url}: {getattr(err, 'reason', err)}")
            continue
        if digest.hexdigest() != checksum.lower():
            tmp.unlink(missing_ok=True)
            raise file_error(
                url, f"checksum mismatch: expected {algorithm} {checksum.lower()}, got {digest.hexdigest()}"
            )
        os.replace(tmp, dest)
        return dest
    raise DataNotFoundError(f"could not download {dest.name}: " + "; ".join(failures))


def extract_tar(archive: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """Extract a tar archive into `target`, refusing any member that is not a plain file or folder
    inside it (absolute paths, `..`, links, devices). Returns the top-level entries extracted.

    Members are unpacked into a temporary folder in `target` first and moved into place after.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if member.name.startswith(("/", "\\")) or ".." in parts or not parts:
                    raise file_error(archive, f"member {member.name!r} would land outside {target}")
                if not (member.isfile() or member.isdir()):
                    raise file_error(archive, f"member {member.name!r} is a link or device; only files allowed")
            staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target))
            try:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(staging, members=members, filter="data")
                else:  # Python without extraction filters: members were checked above
                    tar.extractall(staging, members=members)
                tops = sorted({Path(m.name).parts[0] for m in members})
                for top in tops:
                    final = target / top
                    if final.is_dir():
                        shutil.rmtree(final)
                    os.replace(staging / top, final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise file_error(archive, f"not a readable tar archive ({err})") from err
    return [target / top for top in tops]
