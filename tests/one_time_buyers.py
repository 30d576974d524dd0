"""A realistic retailer table where 51 % of the customers bought exactly once (issue #12).

Modelled on the CD retailer of the issue: recency, frequency, monetary total, average order
value, items bought and tenure, drawn from a few latent behaviours. Half the base are one-time
buyers, so ``frequency`` has a point mass at 1 and ``items_bought`` is small and discrete --
the shape that made a Gaussian mixture "win" with a component collapsed onto the point mass.
"""

from __future__ import annotations

import numpy as np


def one_time_buyer_table(n: int = 8000, random_state: int = 0) -> tuple[np.ndarray, list[str]]:
    """Return (X, field names): ``n`` customers, 51 % with ``frequency == 1``.

    Parameters
    ----------
    n : int
        Number of customers.
    random_state : int
        Seed.

    Returns
    -------
    X : numpy.ndarray of shape (n, 6)
    names : list of str
    """
    rng = np.random.default_rng(random_state)
    one_time = rng.random(n) < 0.51
    repeat = ~one_time
    heavy = repeat & (rng.random(n) < 0.25)
    frequency = np.ones(n)
    frequency[repeat] = 2 + rng.poisson(2.0, repeat.sum())
    frequency[heavy] += rng.poisson(8.0, heavy.sum())
    tenure = np.round(rng.gamma(2.0, 250.0, n)) + 1
    # One-time buyers bought when they signed up; repeat buyers more recently.
    recency = np.where(one_time, tenure, np.minimum(tenure, np.round(rng.exponential(120.0, n))))
    aov = np.round(rng.lognormal(np.log(np.where(heavy, 28.0, 18.0)), 0.45), 2)
    items = np.maximum(1, np.round(frequency * rng.gamma(1.5, 1.0, n)))
    monetary = np.round(aov * frequency, 2)
    X = np.c_[recency, frequency, monetary, aov, items, tenure]
    return X, ["recency_days", "frequency", "monetary_total", "avg_order_value", "items_bought",
               "tenure_days"]
