"""Ball arithmetic on mpmath numbers and correctly rounded decimal output (used by :mod:`mitheory.bounds`).

A :class:`Ball` ``(mid, rad)`` stands for every real ``x`` with ``|x − mid| ≤ rad``. Each operation returns
a ball that contains the exact result for every choice of points in its operands: the midpoint is computed
by mpmath at the working precision ``mp.prec`` and the radius adds the propagated radii (bounded with the
derivative of the operation over the operands' balls) to an allowance of :data:`ULPS` units in the last
place for the rounding of the midpoint. mpmath's arithmetic is correctly rounded and its elementary
functions are accurate to about one unit in the last place, so the allowance is generous; radii are
themselves rounded to nearest, a relative error of ``2^−prec`` that the allowance absorbs as well.

:func:`decimal` turns a ball into the decimal of ``digits`` significant digits that the exact value rounds
to (round half to even), or ``None`` when the ball straddles a rounding boundary — the caller then
evaluates again at a higher precision (:func:`solve`, a Ziv loop). Because the exact values printed by the
toolkit are transcendental numbers except at a few points that are handled exactly, they never lie on a
boundary, and the loop ends: the precision it reaches grows with the conditioning of the input.

:class:`Q` is a minimal exact rational (numerator/denominator in lowest terms) for the inputs: it keeps
``fractions`` (and with it ``decimal``) out of the start-up of ``python -m mitheory.bounds``, which imports
only the standard library's light modules and mpmath. Objects with ``numerator`` and ``denominator``
(``fractions.Fraction``, numpy integers) are accepted wherever a Q is.
"""

from __future__ import annotations

import math

import mpmath
from mpmath import mp, mpf

ULPS = 8
"""Rounding allowance of one operation, in units of ``2^−prec`` relative to the result."""

MAX_PREC = 70_000
"""Largest working precision, in bits (about 21,000 decimal digits), that :func:`solve` tries."""

_SQRT_PI_INV2 = None  # 2/√π at the last precision it was computed for: (prec, value)


class Q:
    """An exact rational ``numerator/denominator`` in lowest terms, denominator > 0."""

    __slots__ = ("numerator", "denominator")

    def __init__(self, numerator: int = 0, denominator: int = 1):
        if denominator == 0:
            raise ZeroDivisionError("Q with a zero denominator")
        if denominator < 0:
            numerator, denominator = -numerator, -denominator
        g = math.gcd(numerator, denominator)
        if g > 1:
            numerator, denominator = numerator // g, denominator // g
        self.numerator, self.denominator = numerator, denominator

    @staticmethod
    def from_float(x: float) -> Q:
        return Q(*x.as_integer_ratio())

    @staticmethod
    def from_mpf(x: mpf) -> Q:
        man, exp = x.man_exp
        return Q(int(man) << exp) if exp >= 0 else Q(int(man), 1 << -exp)

    def _pair(self, other):
        if isinstance(other, Q):
            return other.numerator, other.denominator
        if isinstance(other, int):
            return other, 1
        if hasattr(other, "denominator") and hasattr(other, "numerator"):
            return int(other.numerator), int(other.denominator)
        return None

    def __add__(self, other):
        o = self._pair(other)
        if o is None:
            return NotImplemented
        return Q(self.numerator * o[1] + o[0] * self.denominator, self.denominator * o[1])

    __radd__ = __add__

    def __sub__(self, other):
        o = self._pair(other)
        if o is None:
            return NotImplemented
        return Q(self.numerator * o[1] - o[0] * self.denominator, self.denominator * o[1])

    def __rsub__(self, other):
        o = self._pair(other)
        if o is None:
            return NotImplemented
        return Q(o[0] * self.denominator - self.numerator * o[1], self.denominator * o[1])

    def __mul__(self, other):
        o = self._pair(other)
        if o is None:
            return NotImplemented
        return Q(self.numerator * o[0], self.denominator * o[1])

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._pair(other)
        if o is None:
            return NotImplemented
        return Q(self.numerator * o[1], self.denominator * o[0])

    def __rtruediv__(self, other):
        o = self._pair(other)
        if o is None:
            return NotImplemented
        return Q(o[0] * self.denominator, o[1] * self.numerator)

    def __pow__(self, k: int):
        return Q(self.numerator**k, self.denominator**k) if k >= 0 else Q(self.denominator**-k, self.numerator**-k)

    def __neg__(self):
        return Q(-self.numerator, self.denominator)

    def __abs__(self):
        return Q(abs(self.numerator), self.denominator)

    def __bool__(self) -> bool:
        return self.numerator != 0

    def _cmp(self, other) -> int | None:
        o = self._pair(other)
        if o is None:
            return None
        a, b = self.numerator * o[1], o[0] * self.denominator
        return (a > b) - (a < b)

    def __eq__(self, other):
        c = self._cmp(other)
        return NotImplemented if c is None else c == 0

    def __lt__(self, other):
        c = self._cmp(other)
        return NotImplemented if c is None else c < 0

    def __le__(self, other):
        c = self._cmp(other)
        return NotImplemented if c is None else c <= 0

    def __gt__(self, other):
        c = self._cmp(other)
        return NotImplemented if c is None else c > 0

    def __ge__(self, other):
        c = self._cmp(other)
        return NotImplemented if c is None else c >= 0

    def __hash__(self) -> int:
        return hash((self.numerator, self.denominator))

    def __float__(self) -> float:
        return self.numerator / self.denominator

    def __repr__(self) -> str:
        return f"{self.numerator}/{self.denominator}" if self.denominator != 1 else str(self.numerator)


class Undecided(ArithmeticError):
    """A decision (a sign, a rounding) needs more precision; ``bits`` is how many more, at least."""

    def __init__(self, bits: int = 0):
        super().__init__(bits)
        self.bits = int(bits)


class Ball:
    """The closed interval ``[mid − rad, mid + rad]`` with mpmath endpoints data (see the module docstring)."""

    __slots__ = ("mid", "rad")

    def __init__(self, mid, rad=0):
        self.mid = mid if isinstance(mid, mpf) else mpf(mid)
        self.rad = rad if isinstance(rad, mpf) else mpf(rad)

    # -- construction --------------------------------------------------------------------------------
    @staticmethod
    def of(x) -> Ball:
        """A ball around an exact number: a Ball, int, mpf (exact binary value) or a rational (Q, Fraction)."""
        if isinstance(x, Ball):
            return x
        if isinstance(x, int):
            mid = mpf(x)
            return Ball(mid, 0 if x.bit_length() <= mp.prec else _ulp(mid))
        if isinstance(x, mpf):
            return Ball(+x, 0 if _fits(x) else _ulp(x))
        if hasattr(x, "denominator"):
            if x.denominator == 1:
                return Ball.of(int(x.numerator))
            mid = mpf(int(x.numerator)) / int(x.denominator)
            return Ball(mid, _ulp(mid) * 2)  # the numerator's rounding and the division's
        raise TypeError(f"cannot make a ball of {type(x).__name__}")

    def __repr__(self) -> str:
        return f"Ball({mpmath.nstr(self.mid, 20)} ± {mpmath.nstr(self.rad, 3)})"

    # -- views ----------------------------------------------------------------------------------------
    @property
    def lo(self) -> mpf:
        return mpmath.fsub(self.mid, self.rad, rounding="f")

    @property
    def hi(self) -> mpf:
        return mpmath.fadd(self.mid, self.rad, rounding="c")

    def sign(self) -> int:
        """+1, −1, or 0 for the exact zero ball; raises :class:`Undecided` when the ball contains 0."""
        if self.rad == 0:
            return (self.mid > 0) - (self.mid < 0)
        if self.mid > self.rad:
            return 1
        if -self.mid > self.rad:
            return -1
        raise Undecided(_bits_short(self))

    # -- arithmetic -----------------------------------------------------------------------------------
    def __neg__(self) -> Ball:
        return Ball(-self.mid, self.rad)

    def __add__(self, other) -> Ball:
        if isinstance(other, int) and other.bit_length() <= 53:  # small ints are exact: no conversion
            mid = self.mid + other
            return Ball(mid, self.rad + _ulp(mid))
        o = Ball.of(other)
        mid = self.mid + o.mid
        return Ball(mid, self.rad + o.rad + _ulp(mid))

    __radd__ = __add__

    def __sub__(self, other) -> Ball:
        if isinstance(other, int) and other.bit_length() <= 53:
            mid = self.mid - other
            return Ball(mid, self.rad + _ulp(mid))
        o = Ball.of(other)
        mid = self.mid - o.mid
        return Ball(mid, self.rad + o.rad + _ulp(mid))

    def __rsub__(self, other) -> Ball:
        if isinstance(other, int) and other.bit_length() <= 53:
            mid = other - self.mid
            return Ball(mid, self.rad + _ulp(mid))
        return Ball.of(other) - self

    def __mul__(self, other) -> Ball:
        if isinstance(other, int) and other.bit_length() <= 53:
            mid = self.mid * other
            return Ball(mid, self.rad * abs(other) + _ulp(mid))
        o = Ball.of(other)
        mid = self.mid * o.mid
        rad = abs(self.mid) * o.rad + abs(o.mid) * self.rad + self.rad * o.rad
        return Ball(mid, rad + _ulp(mid))

    __rmul__ = __mul__

    def __truediv__(self, other) -> Ball:
        if isinstance(other, int) and other and other.bit_length() <= 53:
            mid = self.mid / other
            return Ball(mid, self.rad / abs(other) + _ulp(mid))
        o = Ball.of(other)
        low = abs(o.mid) - o.rad  # lower bound on |divisor|
        if low <= 0:
            raise Undecided(_bits_short(o))
        mid = self.mid / o.mid
        # |a/b − m_a/m_b| ≤ (r_a + |m_a/m_b|·r_b) / (|m_b| − r_b)
        rad = (self.rad + abs(mid) * o.rad) / low
        return Ball(mid, rad + _ulp(mid))

    def __rtruediv__(self, other) -> Ball:
        return Ball.of(other) / self

    def scale2(self, k: int) -> Ball:
        """``x · 2^k`` (exact)."""
        return Ball(mpmath.ldexp(self.mid, k), mpmath.ldexp(self.rad, k))


# --------------------------------------------------------------------------------------------------
# helpers


def _fits(x: mpf) -> bool:
    man, _ = x.man_exp
    return int(man).bit_length() <= mp.prec


_ZERO = mpf(0)


def _ulp(x: mpf) -> mpf:
    """The rounding allowance ``ULPS · 2^−prec · |x|``."""
    if not x:
        return _ZERO
    return mpmath.ldexp(x if x > 0 else -x, 3 - mp.prec)  # ULPS = 8 = 2^3


def _small(r: mpf) -> mpf:
    """An upper bound on ``e^r − 1`` for ``r ≥ 0``."""
    if r == 0:
        return r
    return r + r * r if r <= 1 else mpmath.expm1(r) * (1 + mpmath.ldexp(1, 4 - mp.prec))


def _bits_short(b: Ball) -> int:
    """How many bits of precision a ball's relative width asks for beyond the current precision."""
    if b.rad == 0:
        return 0
    if b.mid == 0:
        return 64
    rel = b.rad / abs(b.mid)
    return max(0, int(mpmath.log(rel, 2)) + mp.prec) if rel > 0 else 0


def _require_positive(x: Ball) -> None:
    if x.sign() <= 0:
        raise ValueError("argument must be positive")


# --------------------------------------------------------------------------------------------------
# functions


_BIG = mpf(2) ** 16


def _exp_mid(m: mpf) -> mpf:
    """``e^m`` within a unit or two of the last place for any size of ``m``: for ``|m| ≥ 2^16`` by the
    reduction ``m = k·ln 2 + r`` (``|r| ≤ ln 2``) with ``ln 2`` to ``prec + bits(k)`` bits, then
    ``e^m = 2^k·e^r`` — mpmath's own exp takes seconds beyond ``|m| ≈ 10^300``."""
    if abs(m) < _BIG:
        return mpmath.exp(m)
    k = int(mpmath.nint(m / mpmath.ln2))
    with mp.workprec(mp.prec + k.bit_length() + 16):
        r = m - k * mpmath.ln2
    return mpmath.ldexp(mpmath.exp(r), k)


def exp(x: Ball) -> Ball:
    y = _exp_mid(x.mid)
    # |e^t − e^m| ≤ e^m (e^r − 1) for |t − m| ≤ r
    return Ball(y, y * _small(x.rad) + _ulp(y))


def _expm1_mid(m: mpf) -> mpf:
    """``e^m − 1`` to a few units in the last place: ``exp(m) − 1`` at the working precision where
    ``|m| ≥ 1/2`` (the subtraction loses under 2 bits), else at ``log2(1/|m|) + 8`` more bits, which
    covers the cancellation (mpmath's own expm1 finds that precision by trial, several times slower)."""
    if not m:
        return m
    if abs(m) >= 0.5:
        return _exp_mid(m) - 1
    with mp.workprec(mp.prec + max(0, -mpmath.mag(m)) + 8):
        y = mpmath.exp(m) - 1
    return +y


def expm1(x: Ball) -> Ball:
    m = x.mid
    y = _expm1_mid(m)
    # |expm1(t) − expm1(m)| = e^m |e^{t−m} − 1| ≤ (1 + y) (e^r − 1)
    return Ball(y, (1 + y) * _small(x.rad) + _ulp(y))


def log(x: Ball) -> Ball:
    _require_positive(x)
    y = mpmath.log(x.mid)
    return Ball(y, x.rad / x.lo + _ulp(y))


def log1p(x: Ball) -> Ball:
    low = 1 + x.lo
    if low <= 0:
        raise Undecided(_bits_short(x))
    y = mpmath.log1p(x.mid)
    return Ball(y, x.rad / low + _ulp(y))


def sqrt(x: Ball) -> Ball:
    _require_positive(x)
    y = mpmath.sqrt(x.mid)
    # |√t − √m| = |t − m|/(√t + √m) ≤ r/√m
    return Ball(y, x.rad / y + _ulp(y))


def tanh(x: Ball) -> Ball:
    m = x.mid
    near = abs(m) - x.rad  # the point of the ball nearest to 0
    if near > mp.prec:  # |1 − |tanh t|| = 2/(e^{2|t|} + 1) < 2 e^{−2|t|} ≤ 2^{1 − 2·near·log2 e}
        return Ball(1 if m > 0 else -1, mpmath.ldexp(1, 2 - int(2 * near * 1.4426950408889634)))
    y = mpmath.tanh(m)
    # tanh′ = sech² ≤ min(1, 4 e^{−2|t|}) on the ball
    slope = mpf(1) if near <= 1 else min(mpf(1), 4 * _exp_mid(-2 * near))
    return Ball(y, x.rad * slope + _ulp(y))


def _two_over_sqrt_pi() -> mpf:
    global _SQRT_PI_INV2
    if _SQRT_PI_INV2 is None or _SQRT_PI_INV2[0] != mp.prec:
        _SQRT_PI_INV2 = (mp.prec, 2 / mpmath.sqrt(mp.pi))
    return _SQRT_PI_INV2[1]


_ERFC_ASYMPTOTIC = mpf(10) ** 100  # mpmath's erfc series cannot size its work beyond about 1e150


def _erfc_asymptotic(m: mpf) -> tuple[mpf, mpf]:
    """``erfc(m)`` for ``m ≥ 10^100`` and an error bound: the asymptotic series
    ``e^{−m²}/(m√π)·Σ_k (−1)^k (2k−1)!!/(2m²)^k`` alternates with shrinking terms (k < m²), so the first
    omitted term bounds the error; each term is 10^−200 times the previous one."""
    x2 = 2 * m * m
    term, total, k = mpf(1), mpf(1), 0
    tiny = mpmath.ldexp(1, -mp.prec - 8)
    while abs(term) > tiny:
        k += 1
        term = -term * (2 * k - 1) / x2
        total += term
    scale = _exp_mid(-m * m) * _two_over_sqrt_pi() / (2 * m)
    return scale * total, scale * abs(term)


def erfc(x: Ball) -> Ball:
    """``erfc`` for ``x ≥ 0``."""
    m = x.mid
    if m < 0:
        raise ValueError("erfc is only used for x >= 0")
    near = max(mpf(0), m - x.rad)
    slope = _two_over_sqrt_pi() * _exp_mid(-near * near)  # |erfc′| on the ball
    if m >= _ERFC_ASYMPTOTIC:
        y, err = _erfc_asymptotic(m)
        return Ball(y, err + x.rad * slope + _ulp(y) * 4)
    y = mpmath.erfc(m)
    return Ball(y, x.rad * slope + _ulp(y))


def erf(x: Ball) -> Ball:
    """``erf`` for ``x ≥ 0`` (``1 − erfc`` where mpmath's erf cannot be used)."""
    m = x.mid
    if m < 0:
        raise ValueError("erf is only used for x >= 0")
    if m >= _ERFC_ASYMPTOTIC:
        return 1 - erfc(x)
    y = mpmath.erf(m)
    near = max(mpf(0), m - x.rad)
    return Ball(y, x.rad * _two_over_sqrt_pi() * _exp_mid(-near * near) + _ulp(y))


def power(x: Ball, k: int) -> Ball:
    """``x^k`` for an integer ``k ≥ 0`` (any sign of ``x``)."""
    if k == 0:
        return Ball(1)
    if x.rad == 0 and x.mid == 0:
        return Ball(0)
    sgn = x.sign()
    a = abs(x.mid)
    y = a**k
    # (1 ± r/a)^k lies within e^{k r/(a − r)} − 1 of 1; binary powering rounds about log2(k) times
    rel = _small(k * x.rad / (a - x.rad))
    rad = y * rel + _ulp(y) * (1 + k.bit_length())
    return Ball(-y if sgn < 0 and k % 2 else y, rad)


def loggamma_int(k: int) -> Ball:
    """``ln Γ(k)`` for an integer ``k ≥ 1``."""
    y = mpmath.loggamma(k)
    return Ball(y, _ulp(y) * 4 + mpmath.ldexp(1, -mp.prec))


# --------------------------------------------------------------------------------------------------
# correctly rounded decimals


def _round_pos_exact(x: mpf, digits: int, down: bool = False) -> tuple[int, int] | None:
    """``(M, E)`` with ``10^(digits−1) ≤ M < 10^digits`` and ``M·10^(E−digits+1)`` the half-even rounding
    (``down``: the truncation) of the binary number ``x > 0`` in exact integer arithmetic; None when the
    exponents are too large for that."""
    man, e = x.man_exp
    man = int(man)
    if abs(e) > 200_000:
        return None
    # estimate the decimal exponent, then correct it with exact comparisons
    est = int(math.floor((man.bit_length() + e - 1) * 0.30102999566398120))
    for _ in range(4):
        k = digits - 1 - est
        num, den = man, 1
        if k >= 0:
            num *= 10**k
        else:
            den *= 10 ** (-k)
        if e >= 0:
            num <<= e
        else:
            den <<= -e
        q, rem = divmod(num, den)
        if q >= 10**digits:
            est += 1
            continue
        if q < 10 ** (digits - 1):
            est -= 1
            continue
        twice = 2 * rem
        if not down and (twice > den or (twice == den and q % 2 == 1)):
            q += 1
        if q == 10**digits:
            return 10 ** (digits - 1), est + 1
        return q, est
    return None


def _round_pos_log(b: Ball, digits: int, down: bool = False) -> tuple[int, int] | None:
    """The same rounding for a positive ball with a huge exponent, through ``log10`` in ball arithmetic."""
    lg = log(b) / Ball(mpmath.log(10), _ulp(mpmath.log(10)))
    e_lo, e_hi = int(mpmath.floor(lg.lo)), int(mpmath.floor(lg.hi))
    if e_lo != e_hi:
        return None
    scaled = exp((lg - (e_lo - digits + 1)) * Ball(mpmath.log(10), _ulp(mpmath.log(10))))  # 10^(frac + digits − 1)
    shift = 0 if down else mpf(1) / 2
    lo = int(mpmath.floor(scaled.lo + shift))
    hi = int(mpmath.floor(scaled.hi + shift))
    if lo != hi or not 10 ** (digits - 1) <= lo < 10**digits:
        return None
    return lo, e_lo


def round_ball(b: Ball, digits: int, *, down: bool = False) -> tuple[int, int, int] | None:
    """``(sign, M, E)``: the half-even rounding (``down``: truncation toward zero) of the exact value to
    ``digits`` significant digits, or None when the ball does not decide it. The zero ball gives
    ``(0, 0, 0)``."""
    if b.rad == 0 and b.mid == 0:
        return 0, 0, 0
    if abs(b.mid) <= b.rad:
        return None
    sgn = 1 if b.mid > 0 else -1
    a = b if sgn > 0 else -b
    lo, hi = a.lo, a.hi
    r_lo, r_hi = _round_pos_exact(lo, digits, down), _round_pos_exact(hi, digits, down)
    if r_lo is None or r_hi is None:
        r = _round_pos_log(a, digits, down)
        return None if r is None else (sgn, *r)
    if r_lo != r_hi:
        return None
    return (sgn, *r_lo)


def format_decimal(rounded: tuple[int, int, int], digits: int, *, min_fixed: int = -4) -> str:
    """Format ``(sign, M, E)`` like ``mpmath.nstr(x, digits, strip_zeros=False, min_fixed=-4,
    max_fixed=digits)``: fixed notation when ``min_fixed < E < digits``, else ``d.ddd…e±E``."""
    sgn, m, e = rounded
    if sgn == 0:
        return "0"
    s = str(m)
    sign = "-" if sgn < 0 else ""
    if min_fixed < e < digits:
        if e >= 0:
            head, tail = s[: e + 1], s[e + 1:]
            return sign + head + ("." + tail if tail else "")
        return sign + "0." + "0" * (-e - 1) + s
    tail = s[1:]
    return f"{sign}{s[0]}{'.' + tail if tail else ''}e{'+' if e >= 0 else '-'}{abs(e)}"


def decimal(b: Ball, digits: int) -> str | None:
    """The correctly rounded decimal string of the exact value in ``b``, or None (see :func:`round_ball`)."""
    r = round_ball(b, digits)
    return None if r is None else format_decimal(r, digits)


# --------------------------------------------------------------------------------------------------
# the Ziv loop


def start_prec(digits: int, *magnitudes) -> int:
    """A first working precision for ``digits`` correct digits when exponentials of arguments as large as
    ``magnitudes`` (ints or rationals) are taken: each costs about ``log2|x|`` bits."""
    extra = 0
    for m in magnitudes:
        a = abs(m)
        if a > 1:
            extra = max(extra, (a.numerator // a.denominator).bit_length() if hasattr(a, "denominator")
                        else int(a).bit_length())
    return int(digits * 3.3219280948873626) + 24 + extra


def solve(evaluate, digits: int, prec: int, *, names=None):
    """Evaluate ``evaluate()`` at increasing precision until every ball it returns rounds uniquely.

    ``evaluate`` reads its inputs at the current precision and returns ``(balls, flags)``: a dict of
    name → :class:`Ball` (or exact decimal strings, passed through) and any other results (flags must be
    decided exactly; ``evaluate`` raises :class:`Undecided` when a sign needs more precision). Returns
    ``(texts, flags, balls)``: the correctly rounded decimals of the balls named in ``names`` (default
    all), the flags, and the final balls. Raises ArithmeticError past :data:`MAX_PREC` bits.
    """
    while True:
        short = 0
        with mp.workprec(prec):
            try:
                balls, flags = evaluate()
                texts = {}
                for key, b in balls.items():
                    if names is not None and key not in names:
                        continue
                    if isinstance(b, str):
                        texts[key] = b
                        continue
                    t = decimal(b, digits)
                    if t is None:
                        short = max(short, _bits_short(b) - prec + int(digits * 3.33) + 8)
                        break
                    texts[key] = t
                else:
                    return texts, flags, balls
            except Undecided as exc:
                short = max(short, exc.bits - prec + 8)
        if prec >= MAX_PREC:
            raise ArithmeticError(
                f"the result is not decided at {MAX_PREC} bits of working precision: the input lies within "
                f"about 10^-{int(MAX_PREC * 0.301)} of a point where the bound changes form"
            )
        prec = min(MAX_PREC, max(prec + 32, prec + short, prec * 3 // 2))
