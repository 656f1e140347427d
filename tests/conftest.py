"""Shared settings for the package tests."""

import os

os.environ.setdefault("CNNBOOK_PROFILE", "quick")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
