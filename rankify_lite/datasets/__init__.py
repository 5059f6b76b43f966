"""Datasets: names or paths -> (corpus, queries, qrels)."""

from rankify_lite.datasets.dataset import Dataset, DatasetGroup
from rankify_lite.datasets.pre_retrieved import load_pre_retrieved
from rankify_lite.datasets.registry import available_datasets, data_dirs, load_dataset

__all__ = ["Dataset", "DatasetGroup", "available_datasets", "data_dirs", "load_dataset",
           "load_pre_retrieved"]
