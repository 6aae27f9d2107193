"""The log-file state machine's drawing, laid out from the model's own transition table (stdlib only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..model import ALLOWED, LogFileState

NODE_WIDTH = 150
NODE_HEIGHT = 56
GAP = 90
LEFT = 40  # room for the arrow that comes in from the request
TOP = 46  # room for the arcs above
WIDTH = LEFT + 3 * NODE_WIDTH + 2 * GAP + 10
HEIGHT = TOP + NODE_HEIGHT + 12


@dataclass(frozen=True, slots=True)
class Node:
    state: str
    count: int
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Edge:
    path: str  # an SVG path's `d`
    title: str


def layout(counts: Mapping[LogFileState, int]) -> tuple[list[Node], list[Edge]]:
    """A node per state in order, an edge per move a PATCH may make (retries left out)."""
    order = list(LogFileState)
    nodes = [Node(s.value, counts.get(s, 0), LEFT + n * (NODE_WIDTH + GAP), TOP) for n, s in enumerate(order)]
    middle = TOP + NODE_HEIGHT // 2
    edges = []
    moves = sorted((order.index(a), order.index(b)) for a, b in ALLOWED if a != b)
    for a, b in moves:
        title = f"PATCH: {order[a].value} to {order[b].value}"
        if b - a == 1:
            start, end = nodes[a].x + NODE_WIDTH, nodes[b].x - 4
            edges.append(Edge(f"M {start} {middle} L {end} {middle}", title))
        else:  # a move that skips a state: an arc over the ones between
            start, end = nodes[a].x + NODE_WIDTH // 2, nodes[b].x + NODE_WIDTH // 2
            edges.append(
                Edge(f"M {start} {TOP} C {start} {TOP - 40}, {end} {TOP - 40}, {end} {TOP - 4}", title)
            )
    return nodes, edges
