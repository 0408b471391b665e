"""clhelpers: the code behind "Contrastive Learning, Hands-On".

Modules: similarity, losses, data, models, device (foundation); augment, train, evaluate
(training); plots, widgets, checks (notebook helpers). Import what you need, e.g.
``from clhelpers.losses import nt_xent``.
"""
__version__ = "0.1.0"
