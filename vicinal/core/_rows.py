"""Each row of a batch combined with its partner row: into new memory, or in place with bounded extra memory."""

from __future__ import annotations

from collections.abc import Callable

import torch

Rows = int | slice | torch.Tensor
# combine(own, partner, rows, out) -> the combined rows. `own` holds rows `rows` of the batch and `partner` their
# partners' rows; the result goes into `out`, which may be `own` or `partner` itself. out=None (only when autograd
# records) lets combine return a new tensor or change `partner`, a fresh gather, in place.
Combine = Callable[[torch.Tensor, torch.Tensor, Rows, torch.Tensor | None], torch.Tensor]

# Rows of at least this many elements are combined one row at a time, as views: no copy, and the Python cost of a
# call per row is small next to the row's memory traffic.
ROW_ELEMENTS = 1 << 16
# In place, the extra memory for smaller rows: a batch up to this many elements gets its partners gathered at once
# (then every row is written); a larger one goes in blocks whose two buffers together hold about this many.
BLOCK_ELEMENTS = 1 << 20


def _row_elements(t: torch.Tensor) -> int:
    return t.shape[1:].numel()


def _large_rows(t: torch.Tensor) -> bool:
    return t.ndim > 1 and _row_elements(t) >= ROW_ELEMENTS


def combine_rows(
    t: torch.Tensor, index: torch.Tensor, combine: Combine, *, inplace: bool = False, out: torch.Tensor | None = None
) -> torch.Tensor:
    """result[i] = combine(t[i], t[index[i]]) for every row i of t; index is trusted (values in [0, B)).

    In place, t is overwritten with no batch-sized buffer (see `_combine_in_place`). Otherwise the result
    goes into `out` or new memory: on the CPU, large rows one at a time straight into it; else the
    partners are gathered into it and combined there (one pass each). When autograd records, combine
    runs once on a fresh gather of the partners.
    """
    if inplace:
        return _combine_in_place(t, index, combine)
    if t.requires_grad and torch.is_grad_enabled():
        return combine(t, t.index_select(0, index), slice(None), None)
    if t.device.type == "cpu" and _large_rows(t):
        result = torch.empty_like(t) if out is None else out
        rows, result_rows = t.unbind(0), result.unbind(0)
        for i, j in enumerate(index.tolist()):
            combine(rows[i], rows[j], i, result_rows[i])
        return result
    partners = torch.index_select(t, 0, index, out=out)
    return combine(t, partners, slice(None), partners)


def _combine_in_place(t: torch.Tensor, index: torch.Tensor, combine: Combine) -> torch.Tensor:
    """Overwrite t's rows with no batch-sized buffer: extra memory of one row, or at most BLOCK_ELEMENTS.

    A batch of at most BLOCK_ELEMENTS gets all its partners gathered first. Otherwise rows are written in
    `_write_order`, where each row is read as a partner before it is written; the last row of a cycle reads
    the cycle's first row, overwritten by then, from a copy kept aside. Large rows go one at a time as views;
    smaller ones in blocks, gathered into two buffers, combined there and copied back.
    """
    if t.numel() <= BLOCK_ELEMENTS:
        return combine(t, t.index_select(0, index), slice(None), t)
    partners = index.tolist()
    order, cycles = _write_order(partners)
    block = 1 if _large_rows(t) else max(1, BLOCK_ELEMENTS // (2 * _row_elements(t)))
    head_block, tail_block = {}, {}  # cycles that span blocks: the block of their first row, and of their last
    for first, last in cycles:
        if first // block != last // block:
            head_block[first // block] = first
            tail_block[last // block] = (first, last)
    kept = t.new_empty(t.shape[1:]) if head_block else None
    if block == 1:
        for position, row in enumerate(order):
            if position in head_block:
                kept.copy_(t[row])
            partner = kept if position in tail_block else t[partners[row]]
            combine(t[row], partner, row, t[row])
        return t
    order_t = torch.tensor(order, device=t.device)
    partner_t = index[order_t]
    own_buffer, partner_buffer = (t.new_empty((block, *t.shape[1:])) for _ in range(2))
    for b, start in enumerate(range(0, len(order), block)):
        rows = order_t[start : start + block]
        own = torch.index_select(t, 0, rows, out=own_buffer[: rows.shape[0]])
        partner = torch.index_select(t, 0, partner_t[start : start + block], out=partner_buffer[: rows.shape[0]])
        if b in tail_block:
            first, last = tail_block[b]
            partner[last - start].copy_(kept)
        if b in head_block:
            kept.copy_(own[head_block[b] - start])
        t.index_copy_(0, rows, combine(own, partner, rows, partner))
    return t


def _write_order(index: list[int]) -> tuple[list[int], list[tuple[int, int]]]:
    """An order in which to overwrite rows so that every row is read by its readers (rows i with index[i] = it)
    before it is written; and, for each cycle of two or more rows, the positions of its first and last row.

    The partner graph (i → index[i]) is trees hanging on cycles. Tree rows come first, each after all its
    readers (Kahn's order); then each cycle whole, from its first row along the partners. Only the last row of
    a cycle reads a row already written (the cycle's first).
    """
    n = len(index)
    readers = [0] * n
    for i, p in enumerate(index):
        if p != i:
            readers[p] += 1
    order = [i for i in range(n) if readers[i] == 0]
    for row in order:  # the list grows while it is read: a row joins once its last reader is placed
        p = index[row]
        if p != row:
            readers[p] -= 1
            if readers[p] == 0:
                order.append(p)
    cycles = []
    if len(order) < n:
        placed = bytearray(n)
        for row in order:
            placed[row] = 1
        for first in range(n):
            if not placed[first]:
                start, row = len(order), first
                while not placed[row]:
                    placed[row] = 1
                    order.append(row)
                    row = index[row]
                cycles.append((start, len(order) - 1))
    return order, cycles
