"""Promotions, campaigns and their budgets (promotions.md)."""
