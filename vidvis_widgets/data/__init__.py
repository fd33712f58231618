"""Datasets: the generated SyntheticActions world, and a user's own videos."""

from .video_folder import VideoFolder, estimate_flow
from .synthetic import dataset_card, class_map, CLASS_NAMES, NEAR_DUPLICATE_PAIR, SPLITS, ClassSpec, SyntheticActions

__all__ = ["dataset_card", "class_map", "SyntheticActions", "VideoFolder", "estimate_flow", "ClassSpec", "CLASS_NAMES", "SPLITS", "NEAR_DUPLICATE_PAIR"]
