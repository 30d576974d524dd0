"""segengine.plots with matplotlib's Agg backend: each function draws the report's numbers."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import segengine as se  # noqa: E402
from segengine import chart_data, plots  # noqa: E402
from segengine.text.catalog import MESSAGES  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    records, _ = se.datasets.load_demo_customers(n=1200, random_state=8)
    seg = se.Segmenter(k_max=6).fit(records)
    return seg, seg.report("en")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_importing_plots_does_not_import_matplotlib():
    code = ("import sys, segengine, segengine.plots; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("use_report", [False, True])
def test_sizes(fitted, use_report):
    seg, report = fitted
    ax = plots.plot_sizes(report if use_report else seg)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [s["size"] for s in report["segments"]]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{s['segment']} · {s['name']}" for s in report["segments"]]


def test_silhouette_error_bars_and_chosen(fitted):
    seg, report = fitted
    r = dict(report, metadata=dict(report["metadata"]))
    sel = dict(r["metadata"]["k_selection"])
    sel["standard_errors"] = {k: 0.01 for k in sel["scores"]}
    sel["near_ties"] = [{"k": 2, "gap": 0.001}] if sel["chosen"] != 2 else [{"k": 3, "gap": 0.001}]
    r["metadata"]["k_selection"] = sel
    ax = plots.plot_silhouette(r)
    ks = sorted(int(k) for k in sel["scores"])
    line = ax.lines[0]
    assert list(line.get_xdata()) == ks
    np.testing.assert_allclose(line.get_ydata(), [sel["scores"][str(k)] for k in ks])
    texts = [t.get_text() for t in ax.texts]
    assert "chosen" in texts and "near-tie" in texts
    lo, hi = ax.get_ylim()
    assert lo <= min(sel["scores"].values()) - 0.01 and hi >= max(sel["scores"].values()) + 0.01
    ax = plots.plot_silhouette(seg, language="pt")
    assert ax.get_xlabel() == MESSAGES["pt"]["html.k_axis_x"]
    with pytest.raises(ValueError):
        plots.plot_silhouette({k: v for k, v in report.items() if k != "metadata"})


def test_profile_heatmap_is_the_effect_matrix(fitted):
    seg, report = fitted
    ax = plots.plot_profile(seg)
    rows = chart_data.profile_rows(report)
    image = ax.images[0].get_array()
    expected = np.array([[np.nan if e is None else e for e in r.effects] for r in rows])
    assert image.shape == expected.shape
    np.testing.assert_allclose(np.ma.filled(image, np.nan), expected, equal_nan=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.label for r in rows]


def test_projection(fitted):
    seg, _ = fitted
    ax = plots.plot_projection(seg, max_points=500)
    proj = chart_data.projection(seg, max_points=500)
    k = seg.n_clusters_
    points = ax.collections[:k]
    assert sum(len(c.get_offsets()) for c in points) == len(proj.labels)
    for j, c in enumerate(points):
        np.testing.assert_allclose(c.get_offsets(), proj.xy[proj.labels == j])
    centres = np.vstack([c.get_offsets() for c in ax.collections[k:2 * k]])
    np.testing.assert_allclose(centres, proj.centers)
    assert "%" in ax.get_xlabel()
    with pytest.raises(TypeError):
        plots.plot_projection(seg.report())


def test_confidence_boxes(fitted):
    seg, report = fitted
    _, ax = plt.subplots()
    assert plots.plot_confidence(report, ax=ax) is ax
    dist = chart_data.confidence_distribution(report)
    assert len(ax.patches) == seg.n_clusters_
    medians = [line.get_xdata()[0] for line in ax.lines if line.get_color() == "#1d2430"]
    np.testing.assert_allclose(medians, [q[1] for q in dist.quartiles])
    conf = np.array([r["confidence"] for r in report["results"]])
    seg_of = np.array([r["segment"] for r in report["results"]])
    np.testing.assert_allclose(medians, [np.median(conf[seg_of == j]) for j in range(seg.n_clusters_)])


def test_bad_source():
    with pytest.raises(TypeError):
        plots.plot_sizes([1, 2, 3])


def test_user_strings_with_dollar_signs_are_drawn_literally():
    # matplotlib reads text between two "$" as mathtext: a field named "spend $ (\x) $" made
    # plot_profile raise at draw time, and a level "$5 - $10" was drawn as italic math "5 - ".
    rng = np.random.default_rng(4)
    records = [{"id": str(i), "spend $ (\\x) $": float(rng.normal(10 * (i % 3), 1)),
                "price_$5-$10": float(rng.normal(-3 * (i % 3), 1)), "tier": ["$\\bad{", "$5 - $10", "_x^y"][i % 3]}
               for i in range(300)]
    seg = se.Segmenter(random_state=0).fit(records)
    report = seg.report("en")
    for ax in (plots.plot_sizes(report), plots.plot_profile(report), plots.plot_confidence(report),
               plots.plot_projection(seg)):
        ax.figure.canvas.draw()  # raised ValueError (mathtext) before
        texts = [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
        with_dollar = [t for t in texts if "$" in t]
        assert with_dollar, texts
        for label in with_dollar:
            # Every "$" is escaped, so matplotlib shows it as a dollar sign, never as math.
            assert label.count("$") == label.count("\\$"), label
            assert label.replace("\\$", "$") in {f"{s['segment']} · {s['name']}" for s in report["segments"]} \
                | {r.label for r in chart_data.profile_rows(report)}, label


def test_confidence_without_results_is_a_clear_error(fitted):
    # A report without per-record results (segengine.dask keeps the records on the cluster) gave
    # numpy's "zero-size array to reduction operation maximum which has no identity".
    _, report = fitted
    before = plt.get_fignums()
    with pytest.raises(ValueError, match="no per-record results"):
        plots.plot_confidence(dict(report, results=[]))
    assert plt.get_fignums() == before  # no empty figure left behind
