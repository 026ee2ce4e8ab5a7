"""The baseline the detector is compared with: what common open-source detectors do. One networkx graph per
venue with an edge per market direction weighted -log(rate after taker fee) at the top of book, and a
Bellman-Ford negative-cycle search (``networkx.find_negative_cycle``) from a virtual source linked to every
asset. It reports at most one cycle per venue (the one Bellman-Ford stumbles on), of any length, and sees
neither depth, precision nor minimums; it is not made to enumerate more."""

from __future__ import annotations

import math

import networkx as nx

from arbiter.detection.books import BookSnapshot, best_prices
from arbiter.detection.index import DetectionIndex
from arbiter.models.symbols import base_and_quote

SOURCE = "__source__"


def negative_cycles(index: DetectionIndex, books: BookSnapshot) -> dict[int, list[str]]:
    """Per venue, the negative cycle Bellman-Ford finds (assets in trading order, a -> b meaning a is spent
    for b), if any."""
    best_bids, best_asks = best_prices(books)
    found: dict[int, list[str]] = {}
    for v in range(len(index.venues)):
        graph = nx.DiGraph()
        for s, symbol in enumerate(index.symbols):
            bid, ask = float(best_bids[v, s]), float(best_asks[v, s])
            if not index.listed[v, s] or not (math.isfinite(bid) and math.isfinite(ask)):
                continue
            base, quote = base_and_quote(symbol)
            fee = float(index.taker[v, s])
            graph.add_edge(quote, base, weight=math.log(ask * (1 + fee)))  # -log(1 / (ask * (1 + fee)))
            graph.add_edge(base, quote, weight=-math.log(bid * (1 - fee)))
        for node in list(graph.nodes):
            graph.add_edge(SOURCE, node, weight=0.0)
        try:
            cycle = nx.find_negative_cycle(graph, SOURCE)
        except nx.NetworkXError:
            continue
        found[v] = cycle[:-1]
    return found
