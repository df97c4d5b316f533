"""The README's "Quick start by hand", run as written (issue 30, item 12): every `$ ` line of its console block,
in order, in an empty folder with the release binary on PATH, each compared with the lines the README shows
after it. In a shown line `…` stands for any text; a line that is only `…` for any number of lines. A command
ending in `<<'EOF'` takes the lines up to `EOF` as its here-document."""
import os
import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_steps():
    text = README.read_text()
    section = text.split("\n## Quick start by hand\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console\n", 1)[1].split("\n```", 1)[0].split("\n")
    steps, i = [], 0
    while i < len(block):
        line = block[i]
        assert line.startswith("$ "), "a console block line that follows no command: %r" % line
        command, i = line[2:], i + 1
        if command.endswith("<<'EOF'"):
            while block[i] != "EOF":
                command += "\n" + block[i]
                i += 1
            command += "\nEOF"
            i += 1
        shown = []
        while i < len(block) and not block[i].startswith("$ "):
            shown.append(block[i])
            i += 1
        steps.append((command, shown))
    return steps


def matches(shown, printed):
    """Whether the printed lines are the shown ones, `…` standing for any text (a line of `…` alone: any lines)."""
    pattern = "".join(
        "(?:.*\n)*" if line == "…" else re.escape(line).replace(re.escape("…"), ".*") + "\n" for line in shown)
    return re.fullmatch(pattern, printed) is not None


def test_the_matcher_is_strict():
    assert matches(["a … c"], "a b c\n") and not matches(["a … c"], "a b d\n")
    assert matches(["…"], "") and matches(["…"], "x\ny\n") and not matches(["x"], "x\ny\n")
    assert not matches([], "unexpected output\n")


def test_the_readme_quick_start_runs_as_written(docket, workspace):
    folder = workspace / "quickstart"
    folder.mkdir()
    binary = Path(docket.binary).resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKET_")}
    env.update(PATH="%s:%s" % (binary.parent, os.environ["PATH"]), NO_COLOR="1", TERM="dumb")
    steps = quickstart_steps()
    assert len(steps) >= 15, "the quick start lost its commands"
    status = 0
    for command, shown in steps:
        if command == "echo $?":
            printed = "%d\n" % status
        else:
            res = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                                 timeout=60)
            status, printed = res.returncode, res.stdout + res.stderr
        assert matches(shown, printed), "README step `%s` printed:\n%s\nbut the README shows:\n%s" % (
            command.split("\n")[0], printed, "\n".join(shown))
