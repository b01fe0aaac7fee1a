"""Every command's last line names the files to open (report.html, lesson.html, the notebooks), never report.md."""

from pathlib import Path

from compare.cli.app import main

LEARNERS = Path(__file__).resolve().parent / "learners"


def last_line(capsys) -> str:
    return capsys.readouterr().out.rstrip().splitlines()[-1]


def test_run_ends_with_report_html_and_lesson_html(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--epochs", "1", "--hidden", "8", "--progress", "off", "--out", str(out)]) == 0
    line = last_line(capsys)
    assert line.startswith(f"wrote {out}/report.html and {out}/lesson.html: open them in a browser"), line
    assert "report.md" not in line and (out / "report.html").is_file() and (out / "lesson.html").is_file()


def test_lesson_ends_with_lesson_html_and_the_notebook(tmp_path, capsys):
    out = tmp_path / "l"
    assert main(["lesson", "--out", str(out)]) == 0
    line = last_line(capsys)
    assert line == f"wrote {out}/lesson.html: open it in a browser; and {out}/lesson.ipynb: open it with jupyter lab"
    assert (out / "lesson.html").is_file() and (out / "lesson.ipynb").is_file()


def test_exercise_ends_with_the_notebook(tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["lesson", "--exercise", "--out", str(out)]) == 0
    assert last_line(capsys) == f"wrote {out}/exercise.ipynb: open it with jupyter lab"


def test_check_ends_with_report_html(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["check", str(LEARNERS / "book_mlp.py"), "--epochs", "0", "--out", str(out)]) == 0
    assert last_line(capsys) == f"wrote {out}/report.html: open it in a browser"
    assert (out / "report.html").is_file()
