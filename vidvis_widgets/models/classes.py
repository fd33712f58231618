"""The one class resolver: a class given by index or by name, as an index into a model's classes, with one clear
error. The adapter's :meth:`~.adapter.ModelAdapter.class_index` is this function on its class names; targets,
activation maximization, LEAPS and Saliency Tubes (and their results) resolve classes through it."""

from __future__ import annotations

import numbers
from typing import Sequence

#: class names a model gets when its structure tells only how many classes it has (``describe``'s)
def unnamed(names: Sequence[str]) -> bool:
    """Whether ``names`` are the placeholders ``class_0``, ``class_1``, … of a model without class names."""
    return all(n == f"class_{i}" for i, n in enumerate(names))


def class_index(names: Sequence[str] | None, cls, owner: str = "the model", *, num_classes: int | None = None,
                check_range: bool = True) -> int:
    """``cls`` (an index, or one of ``names``) as an index. ``names`` None (or placeholders, :func:`unnamed`): the
    model carries no class names, so only an index is taken; ``num_classes``: how many classes there are where
    ``names`` does not tell; ``check_range=False`` leaves an index unchecked (a model whose class count shows only
    when it runs). Errors name ``owner``, the problem and the expected form."""
    names = tuple(names) if names is not None else None
    n = num_classes if num_classes is not None else len(names) if names is not None else None
    if isinstance(cls, str):
        if names is not None and cls in names:
            return names.index(cls)
        if names is None or (unnamed(names) and names):
            raise ValueError(f"class {cls!r} is given by name, but {owner} carries no class names (vidvis_adapter); "
                             "give the class index")
        shown = ", ".join(names[:30]) + (f", … ({len(names)} in all)" if len(names) > 30 else "")
        raise ValueError(f"unknown class {cls!r}; expected an index 0–{len(names) - 1} or one of {shown}")
    if isinstance(cls, bool) or not isinstance(cls, numbers.Integral) or cls < 0:
        raise ValueError(f"a class must be an index (an integer ≥ 0) or a class name; got {cls!r}")
    k = int(cls)
    if check_range and n is not None and k >= n:
        raise ValueError(f"class index {k} out of range: {owner} has {n} classes (0…{n - 1})")
    return k
