"""The CI pipeline's first run: queued once after setup, never twice, skipped with --no-run."""

from __future__ import annotations

from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import PROJECT, SLUG, Baker, only


def test_setup_queues_one_first_run_of_main_and_prints_its_address(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake()
    assert run.returncode == 0, run.output
    first = only(fake.runs(PROJECT))
    assert first["pipeline"]["name"] == f"{SLUG}-ci"
    assert first["resources"]["repositories"]["self"]["refName"] == "refs/heads/main"
    assert f"First CI run: {first['_links']['web']['href']}" in run.output
    again = baker.provision(project)
    assert again.returncode == 0, again.output
    assert len(fake.runs(PROJECT)) == 1


def test_no_run_queues_nothing_and_a_later_run_queues_the_first(
    baker: Baker, fake: FakeAzureDevOps
) -> None:
    run, project = baker.bake(pat=None)  # no token: the bake skips the setup
    assert run.returncode == 0, run.output
    skipped = baker.provision(project, "--no-run")
    assert skipped.returncode == 0, skipped.output
    assert fake.runs(PROJECT) == {}
    later = baker.provision(project)
    assert later.returncode == 0, later.output
    assert len(fake.runs(PROJECT)) == 1


def test_a_lost_answer_to_the_run_is_not_sent_again(baker: Baker, fake: FakeAzureDevOps) -> None:
    fake.inject(503, method="POST", path_contains="/runs", apply_first=True)
    run, project = baker.bake()
    assert len(fake.runs(PROJECT)) == 1, run.output
    again = baker.provision(project)
    assert again.returncode == 0, again.output
    assert len(fake.runs(PROJECT)) == 1
