"""The fault suite (`make chaos`): real workers and the real embedded broker, killed, paused and
rebalanced, and the alert topic compared with `sentinel replay` after each scenario."""
