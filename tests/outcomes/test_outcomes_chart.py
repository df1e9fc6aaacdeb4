"""The SVG chart: well-formed XML, accessible, with every point, the baseline and the band."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from xml.etree import ElementTree

from backstory.outcomes import Visit, load_outcome_rules, progress, render_chart

RULES = load_outcome_rules()
NS = {"svg": "http://www.w3.org/2000/svg"}


def visit(day: int, **values: str) -> Visit:
    on = dt.date(2026, 1, 5) + dt.timedelta(days=day)
    return Visit(f"A{day}", on, {k: D(v) for k, v in values.items()})


def test_chart_has_points_baseline_band_dates_and_text_alternatives() -> None:
    visits = [
        visit(0, back_pain="6", odi="46"),
        visit(21, back_pain="7"),
        visit(42, back_pain="3", odi="32.2"),
    ]
    svg = render_chart(progress(visits, RULES, dt.date(2026, 3, 1)), "Progress <&> test")
    root = ElementTree.fromstring(svg.encode())
    assert root.get("role") == "img"
    assert root.find("svg:title", NS).text == "Progress <&> test"  # type: ignore[union-attr]
    desc = root.find("svg:desc", NS).text or ""  # type: ignore[union-attr]
    assert "Back pain was 6 on 2026-01-05 and 3 on 2026-02-16: improved" in desc
    panels = root.findall("svg:g", NS)
    assert [p.get("id") for p in panels] == ["panel-back_pain", "panel-odi"]
    back = panels[0]
    points = back.findall("svg:circle", NS)
    assert [(c.get("data-date"), c.get("data-value")) for c in points] == [
        ("2026-01-05", "6"),
        ("2026-01-26", "7"),
        ("2026-02-16", "3"),
    ]
    assert len(panels[1].findall("svg:circle", NS)) == 2
    assert back.find("svg:rect[@class='band']", NS) is not None
    assert back.find("svg:line[@class='baseline']", NS) is not None
    words = " ".join(t.text or "" for t in back.iter("{http://www.w3.org/2000/svg}text"))
    assert "2026-02-16" in words and "date of assessment" in words and "points (0-10)" in words
    # Points lie on the drawn line, left to right in date order.
    xs = [float(c.get("cx", "0")) for c in points]
    assert xs == sorted(xs)


def test_a_single_assessment_still_draws_a_valid_chart() -> None:
    svg = render_chart(progress([visit(0, rmdq="12")], RULES, dt.date(2026, 1, 5)))
    root = ElementTree.fromstring(svg.encode())
    assert len(root.findall(".//svg:circle", NS)) == 1
    assert "no later value yet" in (root.find("svg:desc", NS).text or "")  # type: ignore[union-attr]


def test_a_low_baseline_panel_says_a_fall_cannot_be_judged() -> None:
    visits = [visit(0, rmdq="3"), visit(30, rmdq="2")]
    svg = render_chart(progress(visits, RULES, dt.date(2026, 3, 1)))
    root = ElementTree.fromstring(svg.encode())
    desc = root.find("svg:desc", NS).text or ""  # type: ignore[union-attr]
    assert (
        "RMDQ was 3 on 2026-01-05 and 2 on 2026-02-04: not evaluable (too low at the start" in desc
    )
    assert "improved" not in desc
    panel = root.find("svg:g", NS)
    assert panel is not None
    title = panel.find("svg:text[@class='title']", NS)
    assert title is not None and title.text == "RMDQ, points (0-24): not evaluable"
    region = panel.find("svg:rect[@class='not-evaluable']", NS)
    assert region is not None
    assert "cannot be judged" in (region.findtext("svg:title", "", NS))
    band = panel.find("svg:rect[@class='band']", NS)
    baseline = panel.find("svg:line[@class='baseline']", NS)
    assert band is not None and baseline is not None
    # The band of no important change lies above the baseline only (a rise is still judged).
    assert float(band.get("y", "0")) + float(band.get("height", "0")) == float(
        baseline.get("y1", "0")
    )
    tips = [c.findtext("svg:title", "", NS) for c in panel.findall("svg:circle", NS)]
    assert tips == ["2026-01-05: 3 (baseline)", "2026-02-04: 2 (not evaluable)"]
