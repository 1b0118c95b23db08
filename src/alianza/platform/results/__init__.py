"""The results framework: the indicators funders ask for, per period, against baseline and
target, built from the platform's records (see docs/impact.md, "Results framework")."""
