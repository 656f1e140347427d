"""Pretrained models, as chapter 5 uses them: one import for two modules.

This module holds nothing of its own but :func:`layer_table` (kept for chapter 5, see below); it
gathers, under the names the book has always used:

* :mod:`cnnbook.applications`: the keras.applications catalog with the published figures,
  what each model really holds (:func:`measure`), ImageNet weights through the Keras cache
  (:func:`load`, :func:`weights_file`), preprocessing and top-k;
* :mod:`cnnbook.shipped`: the small CNN that ships with the package, its data and the few-shot
  transfer helpers;
* from :mod:`cnnbook.measure`: :func:`multiply_adds`, :func:`inception_branches`,
  :func:`predict` and :func:`accuracy` (the same functions, not copies).

New code should import from those modules directly.
"""

from __future__ import annotations

from cnnbook.applications import (
    PUBLISHED_MULTIPLY_ADDS,
    AppInfo,
    Measured,
    WeightsUnavailable,
    catalog,
    count,
    decode_imagenet,
    decode_top_k,
    info,
    keras_models_dir,
    load,
    measure,
    names,
    preprocess,
    top_k,
    top_k_accuracy,
    weights_file,
)
from cnnbook.measure import accuracy, inception_branches, multiply_adds, predict
from cnnbook.shipped import (
    CANVAS,
    SHIPPED_FILE,
    canvas_digits,
    evaluate_shipped,
    feature_extractor,
    few_labels,
    fit_few,
    load_shipped,
    preprocess_shipped,
    shipped_architecture,
    shipped_info,
    shipped_test_set,
)

__all__ = [
    "AppInfo", "Measured", "WeightsUnavailable", "catalog", "info", "names", "measure", "count",
    "multiply_adds", "PUBLISHED_MULTIPLY_ADDS", "weights_file", "keras_models_dir", "load", "preprocess",
    "decode_imagenet", "top_k", "decode_top_k", "top_k_accuracy", "inception_branches", "layer_table",
    "SHIPPED_FILE", "CANVAS", "shipped_info", "load_shipped", "shipped_architecture", "shipped_test_set",
    "evaluate_shipped", "preprocess_shipped", "canvas_digits", "few_labels", "fit_few", "predict", "accuracy",
    "feature_extractor",
]


def layer_table(model, group=None) -> list[tuple[str, int, int]]:
    """``(group, parameters, multiply-adds)`` per group of layers: the rows of
    ``cnnbook.measure.layer_table(model, by="group", group=group)`` as tuples.

    Kept with this shape for chapter 5, which unpacks the tuples; new code should call
    :func:`cnnbook.measure.layer_table` (dict rows).
    """
    from cnnbook.measure import layer_table as table

    return [(r["group"], r["params"], r["multiply_adds"]) for r in table(model, by="group", group=group)]
