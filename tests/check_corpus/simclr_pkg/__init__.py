"""A package in the shape of Spijkervet/SimCLR (``simclr/modules/...``): the check must import it by its dotted name."""
