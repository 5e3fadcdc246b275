"""The CronJob controller (Kubernetes' `pkg/controller/cronjob`, v2): Jobs created on a cron
schedule (5 fields, ranges, steps, names, `@hourly`-style macros, `@every`, a time zone from
`spec.timeZone` or a `TZ=` prefix), with `concurrencyPolicy`, `startingDeadlineSeconds`,
`suspend` and history limits.

- `controller`: `CronJobController` (handlers, `sync_cronjob`, job history cleanup).
- `schedule`: next activation times and missed activations (pure).

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import CronJobController

__all__ = ["CronJobController"]
