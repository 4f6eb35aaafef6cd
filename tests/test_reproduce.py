"""`impasto reproduce` at a tiny size: every sheet, the grid of panels, the report, resuming."""

import json
import shutil

import pytest
from PIL import Image

from impasto import cli, reproduce, sheet

TINY = reproduce.Reproduction(size=32, iterations=2)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduction")
    lines: list[str] = []
    records = reproduce.reproduce(list(reproduce.FIGURES), out, TINY, log=lines.append, progress=False)
    return out, records, lines


def test_every_figure_has_its_sheet_with_the_right_grid(report):
    out, records, _ = report
    for name, figure in reproduce.figures(TINY.size).items():
        with Image.open(out / "sheets" / f"{name}.png") as drawn:
            cell = 2 * TINY.size if name in ("size", "style") else TINY.size
            assert drawn.width == figure.columns * (cell + sheet.GAP) + sheet.GAP, name
            rows = -(-len(figure.panels) // figure.columns)
            assert drawn.height > rows * (cell * 3 // 4), name  # landscape panels, 4:3
        runs = [p for p in figure.panels if p.kind not in ("input", "blank")]
        assert [r.name for r in records[name]] == [p.name for p in runs]


def test_the_figures_have_the_papers_panels():
    figures = reproduce.figures(512)
    assert [p.options["layer"] for p in figures["content"].panels[1:]] == [
        "conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]  # fmt: skip
    assert [len(p.options["style_layers"]) for p in figures["style"].panels[1:]] == [1, 2, 3, 4, 5]
    results = [p for p in figures["results"].panels if p.kind == "transfer"]
    assert [p.options["ratio"] for p in results] == [1e-3, 8e-4, 5e-3, 5e-4]
    tradeoff = figures["tradeoff"].panels
    assert len(tradeoff) == 8 and figures["tradeoff"].columns == 4
    assert {p.options["ratio"] for p in tradeoff} == {1e-5, 1e-4, 1e-3, 1e-2}
    assert [p.options["content_layers"] for p in tradeoff[::4]] == [["conv2_2"], ["conv4_2"]]
    inits = [p.options.get("init", "noise") for p in figures["init"].panels]
    assert inits == ["content", "style", "noise", "noise", "noise", "noise"]
    assert [p.options["size"] for p in figures["size"].panels] == [512, 1024]


def test_each_run_records_its_settings_time_and_losses(report):
    out, records, _ = report
    for name, figure_records in records.items():
        for record in figure_records:
            saved = json.loads((out / "panels" / name / f"{record.name}.json").read_text())
            assert saved["iterations"] == 2 and len(saved["history"]) == 2
            assert saved["seconds"] > 0
            assert (out / "plots" / name / f"{record.name}.png").exists()


def test_the_report_shows_every_sheet_and_run(report):
    out, records, _ = report
    page = (out / "index.html").read_text()
    for name, figure_records in records.items():
        assert f"src='sheets/{name}.png'" in page
        for record in figure_records:
            assert f"src='plots/{name}/{record.name}.png'" in page
    assert "What to look for" in page


def test_an_interrupted_reproduction_resumes_without_recomputing(report, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(report[0], out)  # the shared report stays as it was for the other tests
    panel = out / "panels" / "tradeoff" / "conv2_2_1e-05.png"
    before = panel.stat().st_mtime_ns
    (out / "panels" / "tradeoff" / "conv4_2_0.01.json").unlink()  # as if stopped mid-panel
    lines: list[str] = []
    reproduce.reproduce(["tradeoff"], out, TINY, log=lines.append, progress=False)
    panel_lines = [line for line in lines if line.startswith("tradeoff ")]
    assert sum("already done" in line for line in panel_lines) == 7
    assert (
        panel_lines[-1].startswith("tradeoff 8/8: conv4_2, α/β = 0.01") and "already" not in panel_lines[-1]
    )
    assert panel.stat().st_mtime_ns == before


def test_changed_settings_are_computed_again(report, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(report[0], out)
    lines: list[str] = []
    reproduce.reproduce(
        ["size"], out, reproduce.Reproduction(size=32, iterations=3), log=lines.append, progress=False
    )
    computed = [line for line in lines if line.startswith("size ") and line.endswith(" s")]
    assert len(computed) == 2
    assert json.loads((out / "panels" / "size" / "size_32.json").read_text())["iterations"] == 3


def test_unknown_figure_is_refused(tmp_path, capsys):
    assert cli.main(["reproduce", "figure9", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "impasto: error: no figure 'figure9'; choose all or content, style, results, tradeoff, init, size"
    )
