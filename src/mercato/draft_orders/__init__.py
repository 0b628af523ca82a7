"""Draft orders (order-changes.md §12): an operator's multi-seller order, converted into an
order group with one order per seller by checkout's split and allocation."""
