"""Long tasks show progress in the play output: a build that takes 30 s (in algo_deploy, as the role
runs it) prints a line at 10 s and at 20 s naming the host, the module, the algorithm and what it waits for; a benchmark running
for 12 s prints how many calls it has started; a quick task prints none; the progress file never
outlives the task. The lines are the ones docs/usage.md shows."""

from __future__ import annotations

import re

from tests.integration.docs_examples import assert_shown, usage_example
from tests.integration.test_algo_build_publish import build_task, create_algorithm, playbook, template_copy

SLOW_IMPORT_S = 30
# Loading the algorithm (the build's last step) takes 30 s: a long build, on any machine.
SLOW_ALGORITHM = f"""import time

time.sleep({SLOW_IMPORT_S})


def apply(input):
    return input
"""
PROGRESS_LINE = re.compile(r"^\[localhost\] algo_deploy: (\d+) s, (.*)$", re.M)
BENCHMARK_LINE = re.compile(r"^\[localhost\] algo_benchmark Steady: (\d+) s, test 'under load': (\d+) calls started$", re.M)
# docs/usage.md's example lines, on the names of these runs
DOCS_NAMES = {"[prod-eu]": "[localhost]", "ImageThumbnailer": "SlowBuild", "ImageBenchmark": "Steady"}


def test_a_30_s_build_prints_progress_lines_naming_what_it_waits_for(cluster, tmp_path):
    from tests.integration.playbook import run_playbook

    template = template_copy(tmp_path, "SlowBuild", SLOW_ALGORITHM)
    deploy = {"name": "Deploy", "algorithmia.testbench.algo_deploy": {
        "algorithms": [{"name": "SlowBuild", "language": "python3", "template_dir": str(template)}]}}
    run = run_playbook(playbook(deploy), tmp_path / "run", extra_vars={"api_address": cluster.url, "api_key": cluster.key})
    assert run.rc == 0, run.stdout + run.stderr
    lines = PROGRESS_LINE.findall(run.stdout)
    assert len(lines) >= 2, run.stdout
    assert [int(seconds) for seconds, _doing in lines][:2] == [10, 20]
    assert any(re.match(r"the build of alice/SlowBuild at [0-9a-f]{8}: in progress", doing) for _s, doing in lines), lines
    assert cluster.key not in run.stdout
    assert_shown(usage_example("progress")[:1], run.stdout, dict(DOCS_NAMES, quality=cluster.user))


def test_a_12_s_benchmark_prints_how_many_calls_it_has_started(cluster, tmp_path):
    from tests.integration.playbook import run_playbook

    create_algorithm(cluster, "Steady")
    template = template_copy(tmp_path, "Steady", "def apply(input):\n    return input\n")
    benchmark = {"name": "Benchmark", "algorithmia.testbench.algo_benchmark": {
        "algorithm": "Steady", "tests": [{"name": "under load", "payload": "x", "duration": 12, "concurrency": 1}]}}
    run = run_playbook(playbook(build_task(name="Steady", template_dir=str(template), test_payload="x"), benchmark),
                       tmp_path / "run", extra_vars={"api_address": cluster.url, "api_key": cluster.key})
    assert run.rc == 0, run.stdout + run.stderr
    lines = BENCHMARK_LINE.findall(run.stdout)
    assert lines and int(lines[0][0]) == 10 and int(lines[0][1]) > 0, run.stdout
    assert_shown(usage_example("progress")[1:], run.stdout, DOCS_NAMES)


def test_a_quick_task_prints_no_progress_and_leaves_no_file(cluster, tmp_path):
    from tests.integration.playbook import run_playbook

    create_algorithm(cluster, "QuickBuild")
    template = template_copy(tmp_path, "QuickBuild", "def apply(input):\n    return input\n")
    temp = tmp_path / "temp"
    temp.mkdir()
    run = run_playbook(playbook(build_task(name="QuickBuild", template_dir=str(template))), tmp_path / "run",
                       extra_vars={"api_address": cluster.url, "api_key": cluster.key},
                       env={"TMPDIR": str(temp)})
    assert run.rc == 0, run.stdout + run.stderr
    assert "algo_build_publish QuickBuild:" not in run.stdout
    assert not list(temp.glob("testbench-progress-*")), list(temp.iterdir())
