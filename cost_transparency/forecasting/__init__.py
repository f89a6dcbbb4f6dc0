"""Demand forecasting from SSDA903 episodes: pure Python and numpy, no Flask and no database.

``model`` fits and projects children looked after by placement category and age band; ``backtest``
measures it on a council's own past; ``synthetic`` makes councils with known rates for tests and the
benchmark.
"""
