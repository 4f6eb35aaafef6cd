"""impasto batch: rows planned from files, folders, globs and a manifest; painted with the real
network at 48 px, here and on a local Ray cluster; resumed after a kill; failures reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ASTRONAUT, EXAMPLES, STARRY_NIGHT, TUBINGEN, run_cli
from PIL import Image

from impasto import Settings, batch, sheet, weights
from impasto.errors import ImpastoError, SettingError

COMMAND = Path(sys.executable).with_name("impasto")
SCREAM = EXAMPLES / "the_scream.jpg"
SIZE = 48
FAST = Settings(size=SIZE, iterations=15, seed=5)


def names(rows):
    return [row.output for row in rows]


def test_paths_are_files_folders_or_globs_and_pairs_are_all_or_zip(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("b.jpg", "a.png", "notes.txt"):
        shutil.copy(TUBINGEN, photos / name)
    assert [p.name for p in batch.expand(photos)] == ["a.png", "b.jpg"]  # images only, sorted
    assert [p.name for p in batch.expand(photos / "*.jpg")] == ["b.jpg"]
    every = batch.plan([photos], [STARRY_NIGHT, SCREAM])
    assert [row.number for row in every] == [1, 2, 3, 4]
    assert names(every) == ["a_x_starry_night.png", "a_x_the_scream.png",
                            "b_x_starry_night.png", "b_x_the_scream.png"]  # fmt: skip
    # a seed per row, from its name unless given: a rerun repeats it
    assert len({row.settings.seed for row in every}) == 4
    assert [row.settings.seed for row in every] == [row.settings.seed for row in batch.plan([photos],
                                                    [STARRY_NIGHT, SCREAM])]  # fmt: skip
    zipped = batch.plan([photos], [STARRY_NIGHT, SCREAM], pairs="zip")
    assert names(zipped) == ["a_x_starry_night.png", "b_x_the_scream.png"]
    shutil.copy(TUBINGEN, photos / "b.png")
    (tmp_path / "more").mkdir()
    shutil.copy(TUBINGEN, tmp_path / "more" / "b.jpg")
    asked = [photos / "b.*", tmp_path / "more" / "b.jpg", photos / "b.jpg", TUBINGEN]
    same_stem = batch.plan(asked, [SCREAM])
    assert names(same_stem) == ["photos-b-jpg_x_the_scream.png", "b-png_x_the_scream.png",
                                "more-b-jpg_x_the_scream.png", "photos-b-jpg_x_the_scream_2.png",
                                "tubingen_x_the_scream.png"]  # fmt: skip
    shutil.copy(STARRY_NIGHT, tmp_path / "s.jpg")
    shutil.copy(STARRY_NIGHT, tmp_path / "s_2.jpg")
    twice = batch.plan([TUBINGEN, TUBINGEN], [tmp_path / "s.jpg", tmp_path / "s_2.jpg"])
    assert len(set(names(twice))) == 4  # a copy's _2 is not taken for the painting s_2's name
    with pytest.raises(ImpastoError, match="a folder with no photograph files"):
        batch.plan([photos], [SCREAM], out=photos)  # the outputs there are not taken as photographs
    with pytest.raises(SettingError, match="pairs"):
        batch.plan([photos], [STARRY_NIGHT], pairs="zip")
    with pytest.raises(ImpastoError, match="matches no photograph"):
        batch.plan([tmp_path / "*.gif"], [STARRY_NIGHT])
    with pytest.raises(ImpastoError, match="no such file"):
        batch.plan([tmp_path / "missing.jpg"], [STARRY_NIGHT])


def write_manifest(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_manifests_overrides_take_effect(tmp_path):
    shutil.copy(TUBINGEN, tmp_path / "tubingen.jpg")
    shutil.copy(STARRY_NIGHT, tmp_path / "starry.jpg")
    shutil.copy(SCREAM, tmp_path / "scream.jpg")
    manifest = write_manifest(tmp_path / "rows.csv", "content,style,output,size,ratio,style_blend\n"
                              "tubingen.jpg,starry.jpg,plain.png,,,\n"
                              "tubingen.jpg,starry.jpg,close.png,,10,\n"
                              "tubingen.jpg,starry.jpg,small.png,32,,\n"
                              "tubingen.jpg,starry.jpg;scream.jpg,blend.png,,,1;3\n")  # fmt: skip
    rows = batch.plan(manifest=manifest, settings=FAST)
    assert [row.settings.ratio for row in rows] == [None, 10.0, None, None]
    assert rows[3].style == (str(tmp_path / "starry.jpg"), str(tmp_path / "scream.jpg"))
    assert rows[3].settings.style_blend == (1.0, 3.0)
    out = tmp_path / "out"
    summary = batch.paint_batch(rows, out)
    assert [o.status for o in summary.outcomes] == ["made"] * 4
    records = [json.loads(line) for line in (out / batch.RESULTS).read_text().splitlines()]
    plain, close, small, blend = records
    # ratio 10 weighs the photograph 10000 times more: its content loss is far lower
    assert close["content_loss"] < plain["content_loss"] / 3
    assert close["settings"]["ratio"] == 10
    assert max(Image.open(out / "small.png").size) == 32 and max(Image.open(out / "plain.png").size) == SIZE
    assert blend["style"] == [str(tmp_path / "starry.jpg"), str(tmp_path / "scream.jpg")]
    assert Image.open(out / "blend.png").tobytes() != Image.open(out / "plain.png").tobytes()

    # a spreadsheet's export: a byte-order mark, quoted commas, an empty column and an empty line
    exported = write_manifest(tmp_path / "export.csv", "\ufeffcontent,style,style_blend,scales,\n\n"
                              'tubingen.jpg,starry.jpg;scream.jpg,"1,3",64;128,\n')  # fmt: skip
    (row,) = batch.plan(manifest=exported)
    assert row.settings.style_blend == (1.0, 3.0) and row.settings.scales == (64, 128)
    assert row.settings.size == 128  # the last of its scales, as on the command line

    for text, message in [
        ("content,style,ratoi\ntubingen.jpg,starry.jpg,1\n", "'ratoi' is not a setting"),
        ("content,style,ratio\ntubingen.jpg,starry.jpg,-1\n", "line 2: ratio must be"),
        ("content,style,size\n\ntubingen.jpg,starry.jpg,big\n", "line 3: size 'big' is not a whole number"),
        ("content,style,style_blend\ntubingen.jpg,starry.jpg,1,3\n", "line 2: more cells than columns"),
    ]:
        with pytest.raises(batch.ManifestError, match=message):
            batch.plan(manifest=write_manifest(tmp_path / "bad.csv", text))


def test_a_bad_row_does_not_stop_the_others_and_the_status_says_so(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(TUBINGEN, photos / "a.jpg")
    (photos / "b.jpg").write_text("not an image")
    shutil.copy(ASTRONAUT, photos / "c.png")
    out = tmp_path / "out"
    status, _, err = run_cli("batch", "--content", photos, "--style", STARRY_NIGHT, "-o", out, "--size", SIZE,
                             "--iterations", 15, "--quiet", capsys=capsys)  # fmt: skip
    assert status == 1, err
    assert "row 2 (b_x_starry_night.png) failed: " in err and "not an image" in err
    assert "Traceback" not in err
    records = [json.loads(line) for line in (out / batch.RESULTS).read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "failed", "ok"]
    assert "not an image" in records[1]["error"] and records[0]["seconds"] > 0
    assert (out / "a_x_starry_night.png").exists() and (out / "c_x_starry_night.png").exists()
    assert not (out / "b_x_starry_night.png").exists()
    drawn = Image.open(out / batch.CONTACT_SHEET)
    assert drawn.width == 2 * (SIZE + sheet.GAP) + sheet.GAP  # two pictures side by side

    # the rerun paints only the failed row again, and still says it failed
    before = (out / "a_x_starry_night.png").stat().st_mtime_ns
    status, _, err = run_cli("batch", "--content", photos, "--style", STARRY_NIGHT, "-o", out, "--size", SIZE,
                             "--iterations", 15, capsys=capsys)  # fmt: skip
    assert status == 1 and "0 made, 2 already there, 1 failed" in err
    assert (out / "a_x_starry_night.png").stat().st_mtime_ns == before
    records = [json.loads(line) for line in (out / batch.RESULTS).read_text().splitlines()]
    assert records[0]["seconds"] > 0  # the time it took then is kept

    # with other settings, the outputs there are not this batch's: refused, never overwritten
    status, _, err = run_cli("batch", "--content", photos / "a.jpg", "--style", STARRY_NIGHT, "-o", out,
                             "--size", SIZE, "--iterations", 15, "--ratio", "0.01", capsys=capsys)
    assert status == 1 and "was not made from this row's inputs, settings and engine" in err
    assert (out / "a_x_starry_night.png").stat().st_mtime_ns == before
    records = [json.loads(line) for line in (out / batch.RESULTS).read_text().splitlines()]
    assert [(r["output"], r["status"]) for r in records] == [
        ("a_x_starry_night.png", "failed"), ("c_x_starry_night.png", "ok")]  # the earlier batch's kept


def test_a_wrong_command_gets_one_line_and_status_2(tmp_path, capsys):
    file = tmp_path / "file"
    file.write_text("")
    manifest = write_manifest(tmp_path / "rows.csv", "content,painting\na.jpg,b.jpg\n")
    for arguments, expected in [
        (["--content", TUBINGEN, "--style", STARRY_NIGHT, SCREAM, "--pairs", "zip"], "--pairs zip needs"),
        (["--content", tmp_path / "missing.jpg", "--style", STARRY_NIGHT], "missing.jpg: no such file"),
        (["--content", TUBINGEN], "--style is missing"),
        (["--content", TUBINGEN, "--style", STARRY_NIGHT, "--ratio", "-1"], "--ratio must be"),
        (["--manifest", manifest], "needs a header with the columns content and style"),
        (["--manifest", tmp_path / "none.csv"], "none.csv: no such file"),
    ]:
        status, _, err = run_cli("batch", *arguments, "-o", tmp_path / "out", capsys=capsys)
        assert status == 2 and expected in err and len(err.strip().splitlines()) == 1, (arguments, err)
    status, _, err = run_cli("batch", "--content", TUBINGEN, "--style", STARRY_NIGHT, "-o", file,
                             capsys=capsys)  # fmt: skip
    assert status == 2 and "is a file" in err


def test_a_killed_batch_loses_only_the_rows_in_progress_and_resumes_to_the_same_bytes(tmp_path):
    arguments = ["batch", "--content", TUBINGEN, ASTRONAUT, "--style", STARRY_NIGHT, SCREAM, "--size", SIZE,
                 "--iterations", 15, "--threads", 1, "--quiet"]  # fmt: skip
    out = tmp_path / "killed"
    command = [str(COMMAND), *map(str, arguments), "-o", str(out)]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("*_x_*.png")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()  # SIGKILL: no chance to tidy up
    process.wait()
    finished = {path: path.stat().st_mtime_ns for path in out.glob("*_x_*.png")}
    assert 1 <= len(finished) < 4
    unfinished = out / ".astronaut_x_the_scream.png.abc123.part"  # as if killed while writing it
    unfinished.write_bytes(b"half a PNG")
    assert subprocess.run(command, timeout=600).returncode == 0
    assert {path: path.stat().st_mtime_ns for path in finished} == finished  # skipped, not painted again
    whole = tmp_path / "whole"
    assert subprocess.run([str(COMMAND), *map(str, arguments), "-o", str(whole)], timeout=600).returncode == 0
    outputs = sorted(p.name for p in whole.glob("*_x_*.png"))
    assert len(outputs) == 4 and sorted(p.name for p in out.glob("*_x_*.png")) == outputs
    for name in outputs:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert not [name for name in os.listdir(out) if name.startswith(".")]  # nothing half-written
    records = [json.loads(line) for line in (out / batch.RESULTS).read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok"] * 4


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster in this process for the tests below (starting one takes seconds)."""
    ray = pytest.importorskip("ray", reason="Ray is installed by make test (pip install 'impasto[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield "local"
    ray.shutdown()


def test_ray_gives_the_same_outputs_as_the_local_path(tmp_path):
    pytest.importorskip("ray", reason="Ray is installed by make test (pip install 'impasto[ray]')")
    rows = batch.plan([TUBINGEN, ASTRONAUT], [STARRY_NIGHT], settings=FAST)
    here = batch.paint_batch(rows, tmp_path / "here", batch.Engine.resolve(threads=1))
    assert [o.status for o in here.outcomes] == ["made", "made"]
    # the command starts its own cluster (two workers of one thread each) and stops it
    command = [str(COMMAND), "batch", "--content", str(TUBINGEN), str(ASTRONAUT), "--style",
               str(STARRY_NIGHT), "--size", str(SIZE), "--iterations", "15", "--seed", "5", "--ray", "-o",
               str(tmp_path / "ray")]  # fmt: skip
    finished = subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert "2 made" in finished.stderr
    for row in rows:
        assert (tmp_path / "ray" / row.output).read_bytes() == (tmp_path / "here" / row.output).read_bytes()
    records = [json.loads(line) for line in (tmp_path / "ray" / batch.RESULTS).read_text().splitlines()]
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in records)
    assert len({r["worker"] for r in records}) == 2  # painted side by side, by two workers


def test_a_dead_workers_row_is_painted_by_another(tmp_path, cluster):
    rows = batch.plan([TUBINGEN, ASTRONAUT, TUBINGEN], [STARRY_NIGHT], settings=FAST.replace(iterations=60))
    engine = batch.Engine.resolve(threads=1)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(summary=batch.paint_batch(
        rows, tmp_path / "out", engine, cluster=cluster)))  # fmt: skip
    worker.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline:  # a worker busy with a row
        killed = next((pid for pid in _processes() if "ray::Worker.paint" in _title(pid)), None)
        time.sleep(0.05)
    assert killed is not None
    os.kill(killed, 9)
    worker.join(timeout=300)
    summary = result["summary"]
    assert [o.status for o in summary.outcomes] == ["made"] * 3
    batch.paint_batch(rows, tmp_path / "whole", engine)
    for row in rows:
        assert (tmp_path / "out" / row.output).read_bytes() == (tmp_path / "whole" / row.output).read_bytes()


def test_a_worker_that_cannot_start_stops_the_batch_with_its_reason(tmp_path, cluster):
    rows = batch.plan([TUBINGEN], [STARRY_NIGHT], settings=FAST)
    moved = tmp_path / "vgg19.h5"
    shutil.copy(weights.packaged_path(), moved)
    engine = batch.Engine.resolve(weights=moved, threads=1)
    moved.unlink()  # gone before the workers read it
    with pytest.raises(ImpastoError, match="a Ray worker could not start"):
        batch.paint_batch(rows, tmp_path / "out", engine, cluster=cluster)
    assert not (tmp_path / "out" / rows[0].output).exists()


def _processes() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_threads_and_workers_must_be_positive_whole_numbers(tmp_path, value):
    with pytest.raises(SettingError, match=r"^threads must be a positive whole number"):
        batch.Engine.resolve(threads=value)
    engine = batch.Engine.resolve(threads=1)
    with pytest.raises(SettingError, match=r"^workers must be a positive whole number"):
        batch.paint_batch([], tmp_path / "out", engine, workers=value)
    assert not (tmp_path / "out").exists()
