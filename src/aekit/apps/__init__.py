"""The applications built on the library: the command line, runs from configs, reports, export,
the scikit-learn estimators and the classic experiments."""
