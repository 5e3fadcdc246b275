"""The Column and Printer types, and the columns many printers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

Cells = Callable[[dict, datetime], list]
Conditions = Callable[[dict], "list[dict] | None"]


@dataclass(frozen=True)
class Column:
    """A `TableColumnDefinition`. Every field is always on the wire, even when empty."""

    name: str
    type: str = "string"
    description: str = ""
    format: str = ""
    priority: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


@dataclass(frozen=True)
class Printer:
    """How one kind becomes a row: its columns, its cells (wide), and optional row conditions."""

    columns: tuple[Column, ...]
    cells: Cells
    conditions: Conditions | None = None


def wide(name: str, description: str, type: str = "string") -> Column:
    """A priority-1 column, shown by kubectl only with `-o wide`."""
    return Column(name, type, description, priority=1)


NAME = Column("Name", "string", "Name of the object, unique within its namespace or the cluster.", "name")
AGE = Column("Age", "string", "Time elapsed since the object was created.")
CONTAINERS = wide("Containers", "Names of the containers in the pod template.")
IMAGES = wide("Images", "Images of the containers in the pod template.")
SELECTOR = wide("Selector", "Label selector for the pods this object manages.")
