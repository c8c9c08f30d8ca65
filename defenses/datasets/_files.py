"""Where the data files are found, and how a missing one is fetched from its public original.

A loader asks for a file by its path inside a data directory (e.g. ``mnist/t10k-labels-idx1-ubyte.gz``).
The directories searched, in order, are

1. ``data_home`` (the loader's argument), when given;
2. ``$MID_DATA``, when set;
3. the cache, ``$XDG_CACHE_HOME/mid-toolkit`` (default ``~/.cache/mid-toolkit``).

The first directory holding the file wins. When none does, the file is downloaded into the cache from
its public original (:data:`FILES`), with a progress bar on stderr, and kept only if its SHA-256 is one of
the published file's. ``$MID_DATA_URL`` replaces the public originals by a mirror laid out like a data
directory (``$MID_DATA_URL/mnist/t10k-labels-idx1-ubyte.gz``; the tests serve the shared data this way);
with a mirror every file of :data:`FILES` can be fetched, also those without a public original.

Files are untrusted input (docs/security.md). A download stops as soon as the server sends or announces more
than the file's :attr:`DataFile.max_bytes`. A loader reads a file once, with :func:`read_verified`, which
refuses one larger than that cap and checks its SHA-256 *before* anything parses it; the loader then parses
those very bytes (no second read). A pickle-based file is opened only when its bytes are a published file;
any other format whose bytes differ (a CSV with CRLF line ends, a re-gzipped archive) is parsed by a reader
that runs no code and bounds what it decompresses, and is accepted only if its decoded content is the
published one.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mitheory.cli import Progress

ENV_DATA = "MID_DATA"
ENV_URL = "MID_DATA_URL"
#: Seconds a download may wait for the server (to connect, or for the next bytes) before giving up.
TIMEOUT_S = 30.0
_CHUNK = 1 << 18


class DataNotFoundError(FileNotFoundError):
    """A data file is in none of the searched directories and could not be downloaded."""


class DataFileError(ValueError):
    """A data file exists but is corrupted, truncated or not the published file."""


@dataclass(frozen=True)
class DataFile:
    """A file of a public dataset.

    Attributes
    ----------
    urls : tuple of str
        Public originals, tried in order (empty: no public original; only a ``$MID_DATA_URL`` mirror).
    sha256 : tuple of str
        SHA-256 digests of the file's bytes accepted for a download (different mirrors may serve
        different encodings of the same content, e.g. another gzip header).
    content_sha256 : str
        SHA-256 of the decoded content a loader checks on every load (decompressed IDX bytes, the pixel
        array, the CSV text with LF line ends), so that any copy — cached, user-supplied or written by
        another tool — is verified whatever its container.
    size : int
        Bytes of the largest accepted encoding; :attr:`max_bytes` adds a margin for re-encoded copies.
    """

    urls: tuple[str, ...]
    sha256: tuple[str, ...]
    content_sha256: str
    size: int

    @property
    def max_bytes(self) -> int:
        """The most bytes a copy may have: ``size`` plus a quarter (at least 64 KiB) for other encodings. A
        download is cut off there and a larger local file is refused unread."""
        return self.size + max(1 << 16, self.size // 4)


_STEAK_COMMIT = "fcf572c4fba05a42f1f34f415bd5e6dc389efd68"  # fivethirtyeight/data, 2024-10-28
_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_OLIVETTI_CONTENT = "b119468c2f13775df12d3950e7c96644811647a6e10d30617777f245bf9b2f8b"  # (400, 4096) uint8


def _mnist(name: str, sha256: tuple[str, ...], content: str, size: int) -> DataFile:
    return DataFile(tuple(m + name for m in _MNIST_MIRRORS), sha256, content, size)


#: Every file a loader reads, by its path inside a data directory (checksums: PROVENANCE of the data).
FILES: dict[str, DataFile] = {
    "fivethirtyeight/steak-risk-survey.csv": DataFile(
        (f"https://raw.githubusercontent.com/fivethirtyeight/data/{_STEAK_COMMIT}/steak-survey/"
         "steak-risk-survey.csv",),
        ("cc25080bf53209ba5034d738e857bd6106314f8e49ac7c203dbca9ff35474a1a",),
        "cc25080bf53209ba5034d738e857bd6106314f8e49ac7c203dbca9ff35474a1a", 62_660),
    # Roweis' 64x64 crop as scikit-learn's fetch_olivetti_faces downloads it (figshare; its checksum), or
    # the byte-different copy of the same pixels in the shared data (1,432,511 bytes). Size: the uncompressed
    # MAT-5 encoding of the 4096 x 400 uint8 pixels (1,638,400 bytes) and its headers, which no encoding exceeds.
    "olivetti/olivettifaces.mat": DataFile(
        ("https://ndownloader.figshare.com/files/5976027",),
        ("b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794",
         "b1988d02c72fe5b8ee82b5ef3bb7982eafc74f1e1ff0ae0ade35061ad0af534d"),
        _OLIVETTI_CONTENT, 1_638_400 + 1024),
    # scikit-learn's own cache of the same array (joblib); built locally, so no public original.
    "olivetti/olivetti_py3.pkz": DataFile(
        (), ("47398b319d88c78459514b30b87c562313aad345b5c6a387b678d7f8177be4ba",), _OLIVETTI_CONTENT, 1_405_393),
    # The 400 original ORL PGM images stacked into one array; built locally, so no public original.
    "att_faces/att_faces_92x112.npz": DataFile(
        (), ("b811dc68105e08bb431be272008861bd5ded19d816821e45014cf70c6cc63304",),
        "2e4844a9f4fa4397058f69d6208047170f2e9d399cda18b55c1e8d28f0a83431", 3_688_448),
    # MNIST: the official archives (sha256 as published) or the shared data's re-gzipped training images;
    # the content digest is that of the decompressed IDX file, the same for every mirror.
    "mnist/train-images-idx3-ubyte.gz": _mnist(
        "train-images-idx3-ubyte.gz",
        ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
         "12bacf187eba4f770a04d97be5dbaad9289fe5d89a89729b6af3255c8bbfa9e1"),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 9_912_422),
    "mnist/train-labels-idx1-ubyte.gz": _mnist(
        "train-labels-idx1-ubyte.gz", ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 28_881),
    "mnist/t10k-images-idx3-ubyte.gz": _mnist(
        "t10k-images-idx3-ubyte.gz", ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 1_648_877),
    "mnist/t10k-labels-idx1-ubyte.gz": _mnist(
        "t10k-labels-idx1-ubyte.gz", ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 4_542),
}


def cache_dir() -> Path:
    """The download cache: ``$XDG_CACHE_HOME/mid-toolkit``, by default ``~/.cache/mid-toolkit``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mid-toolkit"


def search_path(data_home: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for a data file, in order: ``data_home``, ``$MID_DATA``, the cache."""
    dirs = [Path(data_home).expanduser()] if data_home is not None else []
    if os.environ.get(ENV_DATA):
        dirs.append(Path(os.environ[ENV_DATA]).expanduser())
    dirs.append(cache_dir())
    return list(dict.fromkeys(dirs))


def read_verified(path: Path, relative: str) -> tuple[bytes, bool]:
    """The bytes of the data file ``path`` (a copy of ``relative``) and whether they are a published file.

    Refuses (:class:`DataFileError`) a file larger than :attr:`DataFile.max_bytes` without reading it, and
    computes the SHA-256 of the bytes before anything parses them; the caller parses these bytes, not the
    file again. ``False`` means a copy with other bytes: a pickle-based format must then be refused, any
    other format parsed by a reader that runs no code and checked by its content digest.
    """
    limit = FILES[relative].max_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise DataFileError(f"{path}: {size} bytes, more than the {limit} a copy of {relative} can have; "
                                f"delete or replace it")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:  # it grew while being read
        raise DataFileError(f"{path}: more than the {limit} bytes a copy of {relative} can have; delete or replace it")
    return data, hashlib.sha256(data).hexdigest() in FILES[relative].sha256


def content_check(path: Path, relative: str, digest: str) -> None:
    """Raise :class:`DataFileError` unless ``digest`` is the published content digest of ``relative``."""
    expected = FILES[relative].content_sha256
    if digest != expected:
        raise DataFileError(
            f"{path}: the content differs from the published file (SHA-256 {digest[:16]}..., expected "
            f"{expected[:16]}...); delete or replace it"
        )


def locate(
    relative: str | Sequence[str],
    data_home: str | os.PathLike | None = None,
    *,
    download: bool = True,
) -> Path:
    """Path of a data file: the first searched directory holding it, else a verified download.

    Parameters
    ----------
    relative : str or sequence of str
        The file's path inside a data directory, or alternatives (each directory is searched for them in
        the given order; when none is found, the first one with a public original is fetched, else the
        first one a ``$MID_DATA_URL`` mirror can serve).
    data_home : path-like, optional
        Searched first (then ``$MID_DATA``, then the cache).
    download : bool, default True
        Fetch a missing file into the cache (from ``$MID_DATA_URL`` when set, else the public original).

    Raises
    ------
    DataNotFoundError
        The file is nowhere and could not be downloaded; the one-line message names ``MID_DATA``, the
        cache path and the URLs tried.
    """
    names = [relative] if isinstance(relative, str) else list(relative)
    dirs = search_path(data_home)
    for d in dirs:
        for name in names:
            if (d / name).is_file():
                return d / name
    where = ", ".join(str(d) for d in dirs)
    mirror = os.environ.get(ENV_URL, "").rstrip("/")
    # Fetch a file with a public original in preference (a mirror serves it too), in the given order.
    fetchable = sorted((n for n in names if n in FILES and (mirror or FILES[n].urls)),
                       key=lambda n: not FILES[n].urls)
    name = fetchable[0] if fetchable else names[0]
    remedy = f"set {ENV_DATA} to a directory holding {name}, or put it at {cache_dir() / name}"
    if not download or not fetchable:
        reason = "downloading is switched off" if not download else "it has no public download"
        raise DataNotFoundError(f"{name} not found in {where} ({reason}); {remedy}")
    if mirror and urllib.parse.urlsplit(mirror).scheme.lower() not in ("http", "https", "file"):
        raise DataNotFoundError(f"{name} not found in {where}, and ${ENV_URL}={mirror!r} is not a URL a file can be "
                                f"fetched from (http://, https:// or file://); {remedy}")
    urls = [f"{mirror}/{name}"] if mirror else list(FILES[name].urls)
    failures = []
    for url in urls:
        reason = _download(url, cache_dir() / name, FILES[name].sha256, name, FILES[name].max_bytes)
        if reason is None:
            return cache_dir() / name
        failures.append(f"{url}: {reason}")
    raise DataNotFoundError(
        f"{name} not found in {where} and could not be downloaded ({'; '.join(failures)}); {remedy}")


def _download(url: str, dest: Path, accepted: tuple[str, ...], label: str, limit: int) -> str | None:
    """Fetch ``url`` into ``dest`` if its SHA-256 is accepted; ``None`` on success, else why not.

    At most ``limit`` bytes are accepted: a larger announced length is refused before reading, and the
    transfer stops as soon as more arrives (a server streaming without end fills nothing)."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise DataNotFoundError(f"cannot write the download cache {dest.parent}: {exc.strerror}; set {ENV_DATA} "
                                f"to a directory holding {label}, or XDG_CACHE_HOME to a writable one") from None
    try:
        digest, size = hashlib.sha256(), 0
        request = urllib.request.Request(url, headers={"User-Agent": "mid-toolkit"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                return (f"the server announces {total} bytes, more than the {limit} bytes expected at most; "
                        f"nothing was saved")
            with Progress(total, desc=f"downloading {label}", unit="B", leave=False, announce=True) as bar:
                while chunk := response.read(min(_CHUNK, limit + 1 - size)):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
                    if size > limit:
                        return (f"the server sent more than the {limit} bytes expected at most; stopped there, "
                                f"nothing was saved")
            if total is not None and size != total:
                return f"the connection closed after {size} of {total} bytes"
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() not in accepted:
            return (f"the file received has SHA-256 {digest.hexdigest()[:16]}..., not the published "
                    f"{accepted[0][:16]}...; nothing was saved")
        os.replace(tmp, dest)
        return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return f"no answer within {TIMEOUT_S:g} s"
        return getattr(reason, "strerror", None) or str(reason)
    except TimeoutError:
        return f"no answer within {TIMEOUT_S:g} s"
    except (http.client.HTTPException, ConnectionError) as exc:
        return f"the connection broke off ({type(exc).__name__})"
    except OSError as exc:  # writing the cache file (e.g. a full disk)
        return f"could not save it to {dest.parent}: {exc.strerror or exc}"
    finally:
        Path(tmp).unlink(missing_ok=True)
