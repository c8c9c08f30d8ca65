"""The toolkit's one random-state helper: every ``random_state`` / ``rng`` argument goes through here.

A random state may be ``None`` (fresh operating-system entropy), a non-negative ``int``, a
:class:`numpy.random.SeedSequence`, a :class:`numpy.random.Generator` (used as it is, so it advances), or
a legacy :class:`numpy.random.RandomState`. :func:`as_generator` turns any of them into a ``Generator``;
:func:`integer_seed` into one integer, for code that derives several seeded streams (torch generators,
``seed + k`` offsets). Library code never seeds or draws from a global generator.

Examples
--------
>>> import numpy as np
>>> from mitheory.rng import as_generator, integer_seed
>>> as_generator(0).integers(10) == np.random.default_rng(0).integers(10)
True
>>> integer_seed(7)
7
"""

from __future__ import annotations

import numbers
from typing import Union

import numpy as np

#: What a ``random_state`` argument may be.
RandomStateLike = Union[None, int, np.integer, np.random.SeedSequence, np.random.Generator, np.random.RandomState]

_KINDS = "None, a non-negative int, a numpy SeedSequence, Generator or RandomState"


def _check_int(random_state, name: str) -> int | None:
    if isinstance(random_state, bool):
        raise ValueError(f"{name} must be {_KINDS}, got {random_state!r}")
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise ValueError(f"{name} must be non-negative, got {random_state}")
        return int(random_state)
    return None


def as_generator(random_state: RandomStateLike = None, *, name: str = "random_state",
                 keep_legacy: bool = False) -> np.random.Generator | np.random.RandomState:
    """A :class:`numpy.random.Generator` for ``random_state``.

    Parameters
    ----------
    random_state : None, int, SeedSequence, Generator or RandomState
        ``None``: fresh entropy; an int or a SeedSequence: ``numpy.random.default_rng(random_state)``; a
        Generator: itself (shared — drawing from the result advances it); a RandomState: a Generator
        seeded by one draw ``randint(0, 2**32 − 1)`` from it (so it advances too).
    name : str
        The argument's name in error messages.
    keep_legacy : bool
        Return a RandomState unchanged instead (for code that must reproduce draws of legacy NumPy
        code, e.g. ART's post-processors).

    Raises
    ------
    ValueError
        For anything else (a bool, a negative int, a float, a string), naming ``name``.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        if keep_legacy:
            return random_state
        return np.random.default_rng(random_state.randint(0, 2**32 - 1, dtype=np.int64))
    seed = _check_int(random_state, name)
    if seed is not None:
        return np.random.default_rng(seed)
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    raise ValueError(f"{name} must be {_KINDS}, got {random_state!r}")


def integer_seed(random_state: RandomStateLike = None, *, name: str = "random_state", bits: int = 63) -> int:
    """One integer seed for ``random_state``: an int is returned as it is, anything else gives a draw.

    Parameters
    ----------
    random_state : None, int, SeedSequence, Generator or RandomState
        An int: itself. ``None``: a draw from fresh entropy. A Generator: ``integers(0, 2**bits − 1)``
        (advancing it). A RandomState: ``randint(0, 2**bits − 1)``. A SeedSequence: its first 64-bit
        state word shifted to ``bits`` bits (the SeedSequence is not changed).
    name : str
        The argument's name in error messages.
    bits : int
        Size of a drawn seed, 1..63 (63: any torch or NumPy seeder takes it).
    """
    if not (isinstance(bits, int) and 1 <= bits <= 63):
        raise ValueError(f"bits must be an int in 1..63, got {bits!r}")
    seed = _check_int(random_state, name)
    if seed is not None:
        return seed
    high = 2**bits - 1
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, high, dtype=np.int64))
    if isinstance(random_state, np.random.SeedSequence):
        return int(random_state.generate_state(1, dtype=np.uint64)[0] >> np.uint64(64 - bits))
    if random_state is None or isinstance(random_state, np.random.Generator):
        return int(np.random.default_rng(random_state).integers(0, high))
    raise ValueError(f"{name} must be {_KINDS}, got {random_state!r}")


__all__ = ["RandomStateLike", "as_generator", "integer_seed"]
