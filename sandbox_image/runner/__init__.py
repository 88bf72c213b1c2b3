"""The in-container runner: loads the model file, trains each seed, writes predictions.

Never imports the host package (``agent``); only its own modules, torch, numpy, stdlib.
"""
