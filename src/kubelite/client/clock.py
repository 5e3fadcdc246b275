"""Moved to `kubelite.machinery.clock`; this name stays for importers not yet updated
(`kubelite.cloud`). Import `kubelite.machinery.clock` (or `Clock`, `FakeClock`, `RealClock` from
`kubelite.client`)."""

from ..machinery.clock import REAL_CLOCK, Clock, FakeClock, RealClock

__all__ = ["REAL_CLOCK", "Clock", "FakeClock", "RealClock"]
