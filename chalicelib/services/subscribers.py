"""Subscribers of a list. (Filled in by the subscribers work.)"""
from __future__ import annotations


def delete_all_in_list(account_id: str, list_id: str) -> None:
    raise NotImplementedError
