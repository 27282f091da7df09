"""``imagetrust diff``: what changed between runs, from the history the store keeps.

``baseline.py`` chooses the state to compare against (a run, a date, the run before the
newest batch), ``compute.py`` reads each kind of change, ``model.py`` holds the records
and the ``--fail-on`` conditions. The report's trends read the same history.
"""
