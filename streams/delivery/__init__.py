"""`sentinel deliver`: the alert topic's consumer that every downstream team would otherwise write.

A consumer group on the alert topic hands each round of alerts to a target
(`alertmanager.py`, `webhook.py`) and commits the round's offsets only once the
target has delivered every alert in it (or put it in the alert dead-letter
topic) and the broker has acknowledged what the target wrote. `loop.py` is the
Kafka side, `run.py` the process around it.
"""
