"""Server-side Table printers: the columns and cells `kubectl get` shows.

Kubernetes builds a `meta.k8s.io/v1` Table for every list or get that asks for one
(`Accept: application/json;as=Table;...`). Each built-in kind has a dedicated printer
(`pkg/printers/internalversion`); every other kind gets the default table of Name and
Created At. The real server always prints with `Wide: true`, so a row carries a cell for
every column, including the priority-1 ones that kubectl only shows with `-o wide`.

Three pure functions, keyed by API group and kind (objects are plain JSON dicts):

- `column_definitions(group, kind)`: the `columnDefinitions` of the Table.
- `row_cells(group, kind, obj, now)`: one cell per column; ages are computed against `now`.
- `row_conditions(group, kind, obj)`: row conditions (`Completed` for finished pods) or None.

`has_printer(group, kind)` tells a dedicated printer from the default table.

Modules: `columns` (the Column and Printer types, shared columns), `format` (labels,
selectors, quantities, "+ N more..." lists), one module per API group (`core`, `pod`,
`event`, `apps`, `batch`, `autoscaling`, `networking`, `discovery`, `policy`, `rbac`,
`scheduling`, `coordination`, `certificates`, `meta`), and `handlers`, which joins their
tables explicitly.

May import: `kubelite.machinery` and the standard library. No I/O.
"""

from .handlers import column_definitions, has_printer, row_cells, row_conditions

__all__ = ["column_definitions", "has_printer", "row_cells", "row_conditions"]
