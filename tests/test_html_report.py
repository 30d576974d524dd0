"""The HTML report read back with the standard library: every mark checked against the numbers."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import segengine as se
from segengine import chart_data
from segengine.html_report import render_html, write_html
from segengine.html_summary import summary_html
from segengine.text.catalog import MESSAGES

from html_dom import parse

TOL = 0.051  # coordinates are written with one decimal


@pytest.fixture(scope="module")
def fitted():
    records, _ = se.datasets.load_demo_customers(n=1500, random_state=5)
    seg = se.Segmenter(k_max=7).fit(records)
    return records, seg, seg.report("en")


@pytest.fixture(scope="module")
def page(fitted):
    _, seg, report = fitted
    return render_html(report, seg, language="en")


@pytest.fixture(scope="module")
def dom(page):
    return parse(page)


def _plot(dom, chart):
    svg = dom.find("svg", data_chart=chart)
    return svg, svg.find("g", cls="plot")


# ------------------------------------------------------------------------------ charts vs numbers


def test_bars_are_the_segments(fitted, dom):
    _, _, report = fitted
    _, plot = _plot(dom, "sizes")
    bars = plot.find_all("rect", cls="bar")
    assert [int(b.attrs["data-segment"]) for b in bars] == [s["segment"] for s in report["segments"]]
    assert [int(b.attrs["data-size"]) for b in bars] == [s["size"] for s in report["segments"]]
    assert sum(int(b.attrs["data-size"]) for b in bars) == report["summary"]["n_records"]
    left, right, top = plot.f("data-left"), plot.f("data-right"), plot.f("data-x-max")
    assert top == max(s["size"] for s in report["segments"])
    for b, s in zip(bars, report["segments"]):
        assert b.f("x") == pytest.approx(left, abs=TOL)
        assert b.f("width") == pytest.approx((right - left) * s["size"] / top, abs=TOL)
        assert float(b.attrs["data-share"]) == s["share"]


def _sampled_report(report):
    """The same report with sampled-silhouette evidence and a near-tie, to exercise every mark."""
    r = copy.deepcopy(report)
    sel = r["metadata"]["k_selection"]
    scores = {k: v for k, v in sel["scores"].items()}
    sel["exact"] = False
    sel["sample_size"] = 1000
    sel["standard_errors"] = {k: 0.004 + 0.001 * int(k) for k in scores}
    other = next(k for k in scores if int(k) != sel["chosen"])
    sel["near_ties"] = [{"k": int(other), "gap": 0.002}]
    return r


@pytest.mark.parametrize("sampled", [False, True])
def test_silhouette_points_error_bars_axis_and_marks(fitted, sampled):
    _, _, report = fitted
    if sampled:
        report = _sampled_report(report)
    sel = report["metadata"]["k_selection"]
    dom = parse(render_html(report, language="en"))
    _, plot = _plot(dom, "silhouette")
    points = plot.find_all("circle", cls="k-point")
    ks = sorted(int(k) for k, v in sel["scores"].items() if v is not None)
    assert [int(p.attrs["data-k"]) for p in points] == ks
    y_min, y_max = plot.f("data-y-min"), plot.f("data-y-max")
    top, bottom = plot.f("data-top"), plot.f("data-bottom")
    errors = sel["standard_errors"] or {}
    for p in points:
        k = p.attrs["data-k"]
        s, e = sel["scores"][k], errors.get(k, 0.0)
        assert float(p.attrs["data-score"]) == s
        assert y_min <= s - e and s + e <= y_max  # the axis encloses every error bar
        assert p.f("cy") == pytest.approx(bottom - (s - y_min) / (y_max - y_min) * (bottom - top), abs=TOL)
    # The axis is not wastefully wide: less than two tick steps beyond the data on each side.
    lows = [sel["scores"][str(k)] - errors.get(str(k), 0.0) for k in ks]
    highs = [sel["scores"][str(k)] + errors.get(str(k), 0.0) for k in ks]
    assert (y_max - y_min) < 3 * (max(highs) - min(lows)) + 1e-9
    chosen = [p for p in points if "chosen" in p.classes]
    assert len(chosen) == 1 and int(chosen[0].attrs["data-k"]) == sel["chosen"]
    bars = plot.find_all("path", cls="error-bar")
    assert len(bars) == (len(ks) if sampled else 0)
    rings = plot.find_all("circle", cls="near-tie")
    assert sorted(int(r.attrs["data-k"]) for r in rings) == sorted(t["k"] for t in sel["near_ties"])
    table = dom.find("section", id="k-selection").find("table")
    assert len(table.find("tbody").find_all("tr")) == len(ks)
    labels = [n.text() for n in plot.find_all("text", cls="mark-label")]
    assert "chosen" in labels and (("near-tie" in labels) == sampled)


def test_projection_points_are_the_sample_and_sit_at_their_coordinates(fitted, dom):
    _, seg, report = fitted
    proj = chart_data.projection(seg)
    assert len(proj.labels) == seg.X_.shape[0] == 1500  # below the cap every record is drawn
    _, plot = _plot(dom, "projection")
    groups = plot.find_all("g", cls="points")
    circles = [c for g in groups for c in g.find_all("circle")]
    assert int(plot.attrs["data-points"]) == len(circles) == len(proj.labels)
    for g in groups:
        j = int(g.attrs["data-segment"])
        assert len(g.find_all("circle")) == report["segments"][j]["size"]
    x0, x1, y0, y1 = (plot.f(a) for a in ("data-x-min", "data-x-max", "data-y-min", "data-y-max"))
    left, right, top, bottom = (plot.f(a) for a in ("data-left", "data-right", "data-top", "data-bottom"))
    assert x0 <= proj.xy[:, 0].min() and proj.xy[:, 0].max() <= x1
    assert y0 <= proj.xy[:, 1].min() and proj.xy[:, 1].max() <= y1
    cx = np.array([c.f("cx") for c in circles])
    cy = np.array([c.f("cy") for c in circles])
    np.testing.assert_allclose(cx, left + (proj.xy[:, 0] - x0) / (x1 - x0) * (right - left), atol=TOL)
    np.testing.assert_allclose(cy, bottom - (proj.xy[:, 1] - y0) / (y1 - y0) * (bottom - top), atol=TOL)
    centres = plot.find_all("path", cls="center")
    assert len(centres) == seg.n_clusters_


def test_projection_is_pca_of_the_preprocessed_matrix_and_centres_are_segment_means(fitted):
    _, seg, _ = fitted
    proj = chart_data.projection(seg)
    X = seg.X_ - seg.X_.mean(axis=0)
    _, sv, vt = np.linalg.svd(X, full_matrices=False)
    ref = X @ vt[:2].T
    for j in range(2):  # same axes up to sign
        got = proj.xy[:, j]
        sign = np.sign(np.dot(got, ref[proj.rows, j]))
        np.testing.assert_allclose(got, sign * ref[proj.rows, j], atol=1e-8)
    var = sv ** 2
    np.testing.assert_allclose(proj.explained, var[:2] / var.sum(), rtol=1e-9)
    if seg.algorithm_ == "kmeans":
        means = np.array([seg.X_[seg.labels_ == j].mean(axis=0) for j in range(seg.n_clusters_)])
        np.testing.assert_allclose(proj.centers, (means - seg.X_.mean(axis=0)) @ _axes_of(proj, seg), atol=1e-6)


def _axes_of(proj, seg):
    Xc = seg.X_[proj.rows] - seg.X_.mean(axis=0)
    axes, *_ = np.linalg.lstsq(Xc, proj.xy, rcond=None)
    return axes


def test_large_inputs_are_subsampled_stratified_and_seeded():
    records, _ = se.datasets.load_demo_customers(n=8000, random_state=2)
    seg = se.Segmenter(k_max=6, random_state=4).fit(records)
    proj = chart_data.projection(seg)
    sizes = np.bincount(seg.labels_, minlength=seg.n_clusters_)
    drawn = np.bincount(proj.labels, minlength=seg.n_clusters_)
    assert abs(len(proj.labels) - chart_data.PROJECTION_MAX_POINTS) <= seg.n_clusters_ + 30
    assert np.all(drawn >= np.minimum(sizes, chart_data.PROJECTION_MIN_PER_SEGMENT))
    np.testing.assert_allclose(drawn / drawn.sum(), sizes / sizes.sum(), atol=0.01)
    assert np.array_equal(seg.labels_[proj.rows], proj.labels)
    again = chart_data.projection(seg)
    assert np.array_equal(again.rows, proj.rows) and np.array_equal(again.xy, proj.xy)
    other = chart_data.projection(seg, random_state=99)
    assert not np.array_equal(other.rows, proj.rows)


def test_heatmap_cells_match_profiles_and_a_naive_recount(fitted, dom):
    records, seg, report = fitted
    _, plot = _plot(dom, "heatmap")
    rows = chart_data.profile_rows(report)
    k = seg.n_clusters_
    cells = plot.find_all("rect", cls="cell")
    assert len(cells) == len(rows) * k == int(plot.attrs["data-rows"]) * int(plot.attrs["data-columns"])
    labels = seg.labels_
    for cell in cells:
        row = rows[int(cell.attrs["data-row"])]
        j = int(cell.attrs["data-segment"])
        effect = row.effects[j]
        if effect is None:
            assert "data-effect" not in cell.attrs
            continue
        assert float(cell.attrs["data-effect"]) == effect
        if row.level is None:
            assert effect == report["segments"][j]["profile"][row.field]["effect_size"]
        else:  # the effect of a category level, recounted from the records
            values = [r.get(row.field) for r in records]
            present = np.array([v is not None for v in values])
            hit = np.array([v == row.level for v in values])
            p_pop = hit[present].mean()
            in_seg = present & (labels == j)
            p_seg = hit[in_seg].mean()
            assert effect == pytest.approx((p_seg - p_pop) / np.sqrt(p_pop * (1 - p_pop)), abs=2e-4)
    # The overall mean of a numeric field (the tooltip's reference) is the field's mean.
    spend = next(r for r in rows if r.field == "monetary")
    assert spend.reference == pytest.approx(np.mean([r["monetary"] for r in records]), rel=1e-5)
    table = dom.find("section", id="profile").find("table")
    assert len(table.find("tbody").find_all("tr")) == len(rows)
    tips = [c.find("title").text() for c in cells if "data-effect" in c.attrs]
    assert all(" vs " in tip and "overall" in tip for tip in tips)


def test_confidence_histograms_add_up_and_mark_the_median(fitted, dom):
    _, _, report = fitted
    _, plot = _plot(dom, "confidence")
    conf = np.array([r["confidence"] for r in report["results"]])
    seg_of = np.array([r["segment"] for r in report["results"]])
    for s in report["segments"]:
        j = s["segment"]
        bins = plot.find_all("rect", cls="bin", data_segment=str(j))
        assert sum(int(b.attrs["data-count"]) for b in bins) == s["size"]
        median = plot.find("line", cls="median", data_segment=str(j))
        assert float(median.attrs["data-median"]) == pytest.approx(np.median(conf[seg_of == j]))
        counts, _ = np.histogram(conf[seg_of == j], bins=np.arange(21) / 20)
        drawn = {int(b.attrs["data-bin"]): int(b.attrs["data-count"]) for b in bins}
        assert drawn == {i: int(c) for i, c in enumerate(counts) if c}


# ------------------------------------------------------------------------------ the page


def test_every_chart_is_labelled_and_has_a_table(dom):
    charts = dom.find_all("svg", cls="chart")
    assert {c.attrs["data-chart"] for c in charts} == {"silhouette", "sizes", "heatmap", "projection", "confidence"}
    for svg in charts:
        assert svg.attrs["role"] == "img"
        title_id, desc_id = svg.attrs["aria-labelledby"].split()
        assert svg.find("title", id=title_id).text().strip()
        assert svg.find("desc", id=desc_id).text().strip()
        section = svg.parent.parent
        assert section.tag == "section" and section.find_all("table"), svg.attrs["data-chart"]
        for table in section.find_all("table"):
            assert table.find("caption").text().strip()
            assert table.find_all("th", scope="col")


def test_segments_insights_and_warnings_are_all_there(fitted, dom):
    _, _, report = fitted
    body = dom.find("main")
    text = " ".join(body.text().split())
    for s in report["segments"]:
        card = dom.find("article", id=f"segment-{s['segment']}")
        card_text = " ".join(card.text().split())
        assert s["name"] in card_text
        for c in s["characteristics"]:
            assert " ".join(c["text"].split()) in card_text
        for i in s["insights"]:
            assert " ".join(i["text"].split()) in card_text
    for w in report["metadata"]["warnings"]:
        assert " ".join(w.split()) in text
    for line in report["summary"]["insights"]:
        assert " ".join(line.split()) in text
    fields = dom.find("section", id="fields").find("tbody").find_all("tr")
    assert len(fields) == len(report["metadata"]["preprocessing"])


def test_no_external_reference_and_no_script(page):
    assert not re.search(r"(?i)(https?:|ftp:|//[a-z0-9])", page)
    assert not re.search(r"(?i)<script|<link|<img|<iframe|<object|<embed|@import|url\(|\bsrc=", page)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith("#") for h in hrefs)
    ids = set(re.findall(r'id="([^"]*)"', page))
    assert all(h[1:] in ids for h in hrefs)
    assert len(ids) == len(re.findall(r'id="([^"]*)"', page))  # ids are unique


def test_same_input_gives_the_same_bytes(fitted, page):
    records, _, _ = fitted
    seg = se.Segmenter(k_max=7).fit(copy.deepcopy(records))
    assert render_html(seg.report("en"), seg, language="en") == page


@pytest.mark.parametrize("language", ["es", "pt"])
def test_languages(fitted, language):
    _, seg, _ = fitted
    dom = parse(render_html(seg.report(language), seg, language=language))
    assert dom.find("html").attrs["lang"] == language
    assert dom.find("h1").text() == MESSAGES[language]["html.title"]
    titles = {s.find("title").text() for s in dom.find_all("svg", cls="chart")}
    assert MESSAGES[language]["html.k_title"] in titles
    names = [s["name"] for s in seg.report(language)["segments"]]
    assert all(dom.find("article", id=f"segment-{j}").find("h3").text().endswith(n) for j, n in enumerate(names))


def test_user_text_is_escaped():
    rng = np.random.default_rng(0)
    records = [
        {"id": i, "<script>alert(1)</script>": float(rng.normal() + (i % 3) * 4),
         'plan "A" & <b>': ["a&b", "<c>", 'd"e'][i % 3], "x": float(rng.normal() + (i % 3) * 4)}
        for i in range(120)
    ]
    seg = se.Segmenter(k_max=4).fit(records)
    page = render_html(seg.report("en"), seg)
    assert "<script" not in page and "<b>" not in page and "<c>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    dom = parse(page)
    labels = [n.text() for n in dom.find_all("text", cls="row-label")]
    assert any(label.startswith('plan "A" & <b> = ') for label in labels)


def test_extra_segment_fields_such_as_stability_are_shown(fitted):
    _, seg, report = fitted
    r = copy.deepcopy(report)
    for j, s in enumerate(r["segments"]):
        s["stability"] = round(0.61 + 0.07 * j, 2)
        s["new_thing"] = {"score": 3, "nested": {"deep": 1}}
        s["drivers"] = [{"text": "first reason"}, {"text": "second reason"}]
    r["summary"]["stability"] = 0.77
    r["metadata"]["roles"] = {"recency_days": "recency", "monetary": {"role": "monetary", "source": "name"}}
    dom = parse(render_html(r, seg))
    for j, s in enumerate(r["segments"]):
        facts = {d.find("dt").text(): d.find("dd").text()
                 for d in dom.find("article", id=f"segment-{j}").find("dl").find_all("div")}
        assert facts["Stability"] == f"{s['stability']:.2f}".rstrip("0").rstrip(".")
        assert facts["new_thing · score"] == "3"
        assert facts["drivers"] == "first reason, second reason"
        assert not any("nested" in k for k in facts)
    items = dom.find("section", id="overview").find("dl").find_all("div")
    overview = {d.find("dt").text(): d.find("dd").text() for d in items}
    assert overview["Stability"] == "0.77"
    table = dom.find("section", id="fields").find("table")
    assert table.find("thead").find_all("th")[-1].text() == "Role"
    roles = {tr.find("th").text(): tr.find_all("td")[-1].text() for tr in table.find("tbody").find_all("tr")}
    assert roles["recency_days"] == "recency" and roles["monetary"] == "monetary" and roles["frequency"] == "-"


def test_reports_without_metadata_results_or_model():
    records, _ = se.datasets.load_demo_customers(n=400, random_state=1)
    report = se.segmentation_report({"data": records})
    dom = parse(render_html(report))
    assert {c.attrs["data-chart"] for c in dom.find_all("svg", cls="chart")} == {"sizes", "heatmap", "confidence"}
    assert not dom.find_all("section", id="warnings")
    slim = {k: v for k, v in report.items() if k != "results"}
    dom = parse(render_html(slim))
    assert {c.attrs["data-chart"] for c in dom.find_all("svg", cls="chart")} == {"sizes", "heatmap"}


def test_fixed_k_draws_a_single_point():
    records, _ = se.datasets.load_demo_customers(n=300, random_state=1)
    seg = se.Segmenter(n_clusters=3).fit(records)
    dom = parse(render_html(seg.report(), seg))
    _, plot = _plot(dom, "silhouette")
    points = plot.find_all("circle", cls="k-point")
    assert len(points) == 1 and "chosen" in points[0].classes


# ------------------------------------------------------------------------------ files and notebooks


def test_to_html_writes_atomically(fitted, tmp_path):
    _, seg, _ = fitted
    target = tmp_path / "report.html"
    target.write_text("old")
    seg.to_html(target, language="pt")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'lang="pt"' in page
    assert sorted(os.listdir(tmp_path)) == ["report.html"]
    with pytest.raises(OSError):
        seg.to_html(tmp_path / "missing" / "r.html")
    assert sorted(os.listdir(tmp_path)) == ["report.html"]
    with pytest.raises(se.NotFittedError):
        se.Segmenter().to_html(tmp_path / "x.html")


def test_write_html_leaves_nothing_behind_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        write_html(target, "<html></html>")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["r.html"]


def test_repr_html(fitted, tmp_path):
    _, seg, report = fitted
    html = seg._repr_html_()
    dom = parse(html)
    rows = dom.find("tbody").find_all("tr")
    assert len(rows) == seg.n_clusters_
    for row, s in zip(rows, report["segments"]):
        assert s["name"] in row.text()
    assert "not fitted" in se.Segmenter()._repr_html_()
    seg.save(tmp_path / "m.json")
    loaded = se.Segmenter.load(tmp_path / "m.json")
    assert len(parse(summary_html(loaded)).find("tbody").find_all("tr")) == seg.n_clusters_


def _run_cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-m", "segengine", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def test_cli_html_flag(tmp_path, monkeypatch, capsys):
    # The first run is the real command in its own process; the others call the same entry point
    # in this process (an interpreter start and kernel load each saved), reading its output.
    from segengine.cli import main

    done = _run_cli("demo", "--n", "900", "--html", "a.html", "--output", "a.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "a.html" in done.stderr and "a.html" not in done.stdout
    monkeypatch.chdir(tmp_path)

    def run_in_process(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    again = run_in_process("demo", "--n", "900", "--html", "b.html", "--language", "es")
    assert again.returncode == 0, again.stderr
    assert "Informe de segmentación" in again.stdout  # the terminal summary is still printed
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    dom = parse(page)
    assert len(dom.find_all("svg", cls="chart")) == 5
    import json
    body = json.loads((tmp_path / "a.json").read_text())
    bars = dom.find("svg", data_chart="sizes").find_all("rect", cls="bar")
    assert [int(b.attrs["data-size"]) for b in bars] == [s["size"] for s in body["segments"]]
    assert 'lang="es"' in (tmp_path / "b.html").read_text(encoding="utf-8")
    third = run_in_process("demo", "--n", "900", "--html", "c.html", "--output", "c.json")
    assert (tmp_path / "c.html").read_bytes() == (tmp_path / "a.html").read_bytes()
    assert third.returncode == 0
    bad = run_in_process("demo", "--n", "300", "--html", str(tmp_path / "no" / "x.html"))
    assert bad.returncode == 1 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


def test_report_command_html(tmp_path):
    rows = ["id,spend,visits,channel"] + [
        f"c{i},{10 + (i % 3) * 50 + i % 7},{1 + (i % 3) * 4},{['web', 'app', 'store'][i % 3]}" for i in range(150)
    ]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    done = _run_cli("report", "c.csv", "--html", "c.html", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import json
    body = json.loads(done.stdout)
    dom = parse((tmp_path / "c.html").read_text(encoding="utf-8"))
    assert len(dom.find("svg", data_chart="sizes").find_all("rect", cls="bar")) == body["summary"]["n_segments"]


def test_rendering_changes_neither_the_report_nor_the_model(fitted):
    _, seg, report = fitted
    before = copy.deepcopy(report)
    X, labels, centers = seg.X_.copy(), seg.labels_.copy(), seg.centers_.copy()
    render_html(report, seg, language="es")
    assert report == before
    assert np.array_equal(seg.X_, X) and np.array_equal(seg.labels_, labels) and np.array_equal(seg.centers_, centers)
    after = seg.report("en")
    for body in (after, before):
        body["metadata"].pop("processing_time_ms")
        body["metadata"].pop("timings_ms")
    assert after == before


@pytest.mark.parametrize("language", ["en", "pt"])
def test_fit_and_report_gives_the_contract_report(payload, language):
    # The CLI's --html path fits through fit_and_report (it needs the model too): its report must
    # stay the one segmentation_report returns, whatever the contract grows.
    from segengine.api import fit_and_report

    expected = se.segmentation_report(copy.deepcopy(payload), language=language)
    got, seg = fit_and_report(copy.deepcopy(payload), language=language)
    for body in (expected, got):
        body["metadata"].pop("processing_time_ms")
        body["metadata"].pop("timings_ms")
    assert got == expected
    assert seg.n_clusters_ == got["summary"]["n_segments"]
