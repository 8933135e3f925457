"""Learning model parameters from real feeders.

:mod:`.table` turns what the adapters read from pandapower nets and OpenDSS circuits into one
neutral training table; :mod:`.counting` estimates parameters by counting (the paper's
Algorithm 1). PyMC is imported only by the modules that fit with NUTS.
"""

from .table import LINE_COLUMNS, LOAD_COLUMNS, TrainingTable, make_training_table

__all__ = ["LINE_COLUMNS", "LOAD_COLUMNS", "TrainingTable", "make_training_table"]
