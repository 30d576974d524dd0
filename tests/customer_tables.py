"""Customer tables for the text tests: a realistic one-time-buyer-heavy retailer, and random ones.

`one_time_buyers(n, seed)` imitates the real table of issue #12 (a CD retailer): 51 % of the
customers bought exactly once; recency, frequency, total and average spend, CDs bought, days
since signup, the signup cohort month as a category, and three cost fields (support tickets,
returns, refunds) that are high in a group of troubled customers who also spend well -- the
group a name-guessing engine used to call "Champions".

`random_customers(draw)` is a hypothesis strategy body: latent groups with random RFM-like
profiles, a random choice of field names (role names in three languages, neutral names, cost
names), categorical and binary fields, missing values.
"""

from __future__ import annotations

import numpy as np

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def one_time_buyers(n: int = 6000, seed: int = 0) -> list[dict]:
    """A CD retailer's customers, 51 % of them with frequency exactly 1.

    Parameters
    ----------
    n : int
    seed : int

    Returns
    -------
    list of dict
    """
    rng = np.random.default_rng(seed)
    one = rng.random(n) < 0.51
    troubled = (~one) & (rng.random(n) < 0.18)
    loyal = (~one) & (~troubled) & (rng.random(n) < 0.35)
    freq = np.where(one, 1, 2 + rng.poisson(np.where(loyal, 9.0, 2.0)))
    aov = rng.lognormal(np.log(np.where(troubled, 38.0, 24.0)), 0.35)
    monetary = np.round(freq * aov * rng.lognormal(0, 0.1, n), 2)
    cds = np.maximum(freq, np.round(freq * rng.lognormal(np.log(1.6), 0.3, n))).astype(int)
    recency = np.where(one, rng.uniform(20, 900, n), np.where(loyal, rng.exponential(40, n), rng.uniform(10, 500, n)))
    recency = np.round(recency).astype(int)
    signup = recency + np.round(np.where(one, rng.exponential(15, n), rng.uniform(100, 1500, n))).astype(int)
    month = rng.integers(0, 12, n)
    tickets = np.where(troubled, rng.poisson(4.0, n), rng.poisson(0.2, n))
    returns = np.where(troubled, rng.poisson(3.0, n), rng.poisson(0.1, n))
    refund = np.round(returns * aov * rng.uniform(0.8, 1.2, n), 2)
    return [
        {"customer_id": f"C{i:06d}", "recency_days": int(recency[i]), "frequency": int(freq[i]),
         "monetary_total": float(monetary[i]), "avg_order_value": round(float(monetary[i] / freq[i]), 2),
         "cds_bought": int(cds[i]), "days_since_signup": int(signup[i]),
         "signup_cohort": MONTHS[month[i]], "support_tickets": int(tickets[i]),
         "n_returns": int(returns[i]), "refund_value": float(refund[i])}
        for i in range(n)
    ]


# Field names a random table draws from: (name, role it plays in the generator).
NAME_POOL = {
    "recency": ("recency_days", "days_since_last_purchase", "dias_desde_ultima_compra", "recencia", "recencyDays"),
    "frequency": ("frequency", "n_orders", "numPedidos", "compras", "total_purchases"),
    "monetary": ("monetary", "total_spent", "gasto_total", "receita", "revenue"),
    "tenure": ("tenure_days", "days_since_signup", "antiguedad", "months_active", "tenure_months"),
    "cost": ("support_tickets", "n_returns", "refund_value", "complaints"),
    "neutral": ("score", "x1", "pages_viewed", "age", "cds_bought"),
}


def random_customers(draw) -> tuple[list[dict], dict]:
    """Draw a random customer table (for ``hypothesis.strategies.composite``).

    Parameters
    ----------
    draw : callable
        hypothesis' draw.

    Returns
    -------
    (records, options)
    """
    from hypothesis import strategies as st

    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(60, 700))
    groups = draw(st.integers(1, 6))
    g = rng.integers(0, groups, n)
    roles = draw(st.lists(st.sampled_from(sorted(NAME_POOL)), min_size=1, max_size=5, unique=True))
    fields = {}
    played = {}
    for role in roles:
        name = draw(st.sampled_from(NAME_POOL[role]))
        if name in fields:
            continue
        played[name] = role
        centre = rng.lognormal(rng.normal(2, 1, groups), 0.2)
        if role == "frequency":
            fields[name] = [int(x) for x in 1 + rng.poisson(centre[g] * draw(st.sampled_from([0.1, 1.0])))]
        elif rng.random() < 0.3:
            fields[name] = [int(x) for x in np.round(centre[g] * rng.lognormal(0, 0.3, n))]
        else:
            fields[name] = [float(x) for x in np.round(centre[g] * rng.lognormal(0, 0.4, n), 3)]
    if draw(st.booleans()):
        cats = ("web", "store", "app") if draw(st.booleans()) else MONTHS[:4]
        name = "channel" if cats[0] == "web" else "signup_cohort"
        p = rng.dirichlet(np.ones(len(cats)), groups)
        fields[name] = [cats[int(rng.choice(len(cats), p=p[gi]))] for gi in g]
    if draw(st.booleans()):
        fields["member"] = [bool(x) for x in rng.random(n) < rng.uniform(0, 1, groups)[g]]
    records = []
    holes = draw(st.floats(0, 0.1))
    for i in range(n):
        r = {"id": i}
        for name, values in fields.items():
            r[name] = None if rng.random() < holes else values[i]
        records.append(r)
    options = {"random_state": draw(st.integers(0, 3))}
    if draw(st.booleans()):
        options["n_clusters"] = draw(st.integers(2, 7))
    else:
        options["k_max"] = draw(st.integers(2, 8))
    options["naming"] = draw(st.sampled_from(["archetype", "archetype", "generic"]))
    if draw(st.booleans()):
        # say what the fields are (costs and neutral fields play no role); a cohort may be a channel
        given = {f: (r if r in ("recency", "frequency", "monetary", "tenure") else "none") for f, r in played.items()}
        if "signup_cohort" in fields and draw(st.booleans()):
            given["signup_cohort"] = "channel"
        options["roles"] = given
    return records, options
