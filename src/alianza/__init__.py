"""alianza: productive alliances and micro investing, from appraisal to national scale."""

__version__ = "0.1.0"
