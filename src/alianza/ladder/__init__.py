"""Micro-investing kit ladder: catalogue, growth planner, population simulator and runners.

Pure computation: numbers and files in, numbers and files out; no database, no web.
"""
