"""Offset pagination, the same on every list route: ``?page=1&per_page=50``.

Answers are ``{"items": [...], "total": N, "page": P, "per_page": K}`` where ``total``
counts only what the caller may see (a coordinator's totals never include other sites).
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from people.store import MAX_LIMIT

T = TypeVar("T")


class Pagination(BaseModel):
    """Which page the caller asked for."""

    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        return self.per_page


def get_pagination(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
) -> Pagination:
    return Pagination(page=page, per_page=per_page)


PageDep = Annotated[Pagination, Depends(get_pagination)]


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, items: list[T], total: int, pagination: Pagination) -> Page[T]:
        return cls(items=items, total=total, page=pagination.page, per_page=pagination.per_page)
