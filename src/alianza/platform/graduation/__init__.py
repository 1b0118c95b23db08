"""Graduation to alliances: which Micro Investing farmers meet what a buyer asks for (volume,
quality, delivery track record), and clusters of them in nearby villages proposed, and
registered in one step, as a producer organization."""
