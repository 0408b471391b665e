# Source: https://github.com/Spijkervet/SimCLR, main.py builds the criterion once for the training batch size
#   (Licence: MIT). Our own code: a module-level instance of our re-implementation (simclr_pkg), built for batch 8.
# Expected verdict: correct; the batch size 8 is read from the instance and used for every check.
from simclr_pkg.modules.nt_xent import NT_Xent

criterion = NT_Xent(8, 0.5, 1)
