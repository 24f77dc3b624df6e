"""Diverse exploration policies learned in simulation (docs/explore.md).

K SAC policies, each rewarded for the task plus a novelty bonus (distance to what the other
policies visited, in a behaviour descriptor), trained in parallel simulations on Ray; their
episodes on a shifted robot become prior data for SAC there.
"""
