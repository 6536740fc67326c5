"""``careloop report`` end to end: a real InfluxDB seeded with five weeks of readings, the
people database and the alert store; the PDF rendered to PNG (pdftoppm) and its text
extracted (pdftotext), in English and Traditional Chinese."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from app.cli import main
from app.reports import gather, subject
from careloop.i18n import translate
from careloop.influx import InfluxClient
from people import Directory
from tests.reports.conftest import SITE, WEEK, World


def _flat(text: str) -> str:
    """Text without any whitespace: pdftotext breaks lines wherever the layout did."""
    return "".join(text.split())


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_the_pdf_is_a_readable_multi_page_report(world: World, tmp_path: Path, lang: str) -> None:
    pdf = tmp_path / f"r1-{lang}.pdf"
    rc = main(["report", "r1", "--week", WEEK, "--lang", lang, "--pdf", str(pdf), *world.flags()])
    assert rc == 0
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:  # every page carries ink: not blank, not one flat colour
        grey = Image.open(page).convert("L")
        assert ImageStat.Stat(grey).var[0] > 100, page.name
    text = _flat(subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                                text=True).stdout)  # fmt: skip
    for key in ("summary", "needs", "careplan", "satisfaction", "vitals", "activity"):
        assert _flat(translate(lang, f"report.section.{key}")) in text, key
    # the summary, from the figures: three nights of high heart rate, a third fewer steps,
    # two missed medications, two needs
    vital = translate(lang, "vital.heart_rate")
    for key, params in (
        ("report.finding.higher_nights", {"vital": vital, "count": 3}),
        ("report.finding.steps_down", {"percent": "33"}),
        ("report.finding.missed", {"name": "早餐後服藥", "done": 5, "expected": 7}),
        ("report.finding.needs", {"count": 2}),
        ("report.satisfaction.none", {}),
    ):
        assert _flat(translate(lang, key, **params)) in text, key
    assert "王美玲" in text


def test_figures_from_the_seeded_week(world: World) -> None:
    with Directory(world.people_db) as d, InfluxClient(world.influx_url, world.database) as c:
        subj = subject(d, SITE, "r1", WEEK)
        figs = gather(lambda q: c.query(q, epoch="ms"), subj, world.alert_db, world.people_db)
    hr = next(v for v in figs.vitals if v.field == "heart_rate")
    assert hr.band is not None and hr.band.lo < 66 < hr.band.hi
    assert (hr.higher_nights, hr.lower_nights) == (3, 0)
    spo2 = next(v for v in figs.vitals if v.field == "spo2")
    assert (spo2.higher_nights, spo2.lower_nights) == (0, 0)
    assert len(hr.points) == 7 * 24
    # steps: 40 an interval (15 h awake, 6 an hour) this week against 60 before
    assert figs.steps.mean == pytest.approx(40 * 6 * 15, rel=0.05)
    assert figs.steps.usual == pytest.approx(60 * 6 * 15, rel=0.05)
    # 22:00-07:00 in bed: 9 h a night; Sunday's night ends after the seeded data: left out
    assert figs.bed_hours.values[:6] == [pytest.approx(9.0)] * 6
    assert figs.bed_hours.values[6] is None
    assert [(p.expected, p.done) for p in figs.plan] == [(7, 5), (2, 2)]
    assert [a.id for a in figs.needs.alerts] == ["a-1", "a-2"]  # not last week's a-0
    assert figs.needs.median_accept_min == pytest.approx(4.0)
    assert figs.needs.breached == 1
    assert figs.satisfaction is None


def test_family_sees_only_what_the_resident_shares(world: World, tmp_path: Path) -> None:
    pages = {}
    for rid in ("r1", "r2"):  # r1 shares health with family, r2 only the report
        out = tmp_path / f"{rid}.html"
        args = ["report", rid, "--week", WEEK, "--lang", "en", "--reader", "family"]
        assert main([*args, "--html", str(out), *world.flags()]) == 0
        pages[rid] = out.read_text(encoding="utf-8")
    vitals, withheld = translate("en", "report.section.vitals"), translate("en", "report.withheld")
    assert vitals in pages["r1"] and withheld not in pages["r1"]
    assert vitals not in pages["r2"] and withheld in pages["r2"]
    for hidden in ("report.section.needs", "report.section.activity", "vital.heart_rate"):
        assert translate("en", hidden) not in pages["r2"]
    assert "<svg" not in pages["r2"]
    # the care plan and satisfaction are in the report the family may see
    assert translate("en", "report.section.careplan") in pages["r2"]
    # r3 shares nothing with family: no report at all, a clear error
    args = ["report", "r3", "--week", WEEK, "--reader", "family", "--html", str(tmp_path / "x")]
    assert main([*args, *world.flags()]) == 2
    assert not (tmp_path / "x").exists()


def test_bad_requests_are_clear_errors(world: World, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "r.pdf")
    assert main(["report", "r1", "--week", "2026-02", "--pdf", out, *world.flags()]) == 2
    assert "YYYY-Www" in capsys.readouterr().err
    assert main(["report", "r1", "--week", "2026-W54", "--pdf", out, *world.flags()]) == 2
    assert main(["report", "nobody", "--week", WEEK, "--pdf", out, *world.flags()]) == 2
    assert main(["report", "r1", "--week", WEEK, *world.flags()]) == 2  # nothing to write
    assert "nothing to do" in capsys.readouterr().err
    assert not Path(out).exists()
