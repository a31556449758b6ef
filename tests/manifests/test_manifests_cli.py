"""`shoprank manifests render | validate | generate` through the typer app (errors: a message, exit 1)."""

import yaml
from typer.testing import CliRunner

from shoprank.pipelines.cli import app
from shoprank.pipelines.manifests_sources import GENERATED, render_generated, stale_files

runner = CliRunner()


def test_render_prints_the_overlay_as_yaml():
    done = runner.invoke(app, ["manifests", "render", "--overlay", "canary", "--namespace", "team-a"])
    assert done.exit_code == 0, done.output
    objects = [d for d in yaml.safe_load_all(done.stdout) if d]
    (isvc,) = [o for o in objects if o["kind"] == "InferenceService"]
    assert isvc["metadata"]["namespace"] == "team-a" and isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10


def test_unknown_overlay_bad_namespace_and_missing_kubectl_are_messages(monkeypatch):
    done = runner.invoke(app, ["manifests", "render", "--overlay", "staging"])
    assert done.exit_code == 1 and "expected one of canary, canary-raw, dev, gpu, prod, cluster" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)   # no traceback
    done = runner.invoke(app, ["manifests", "render", "--overlay", "dev", "--namespace", "Team_A"])
    assert done.exit_code == 1 and "namespace: expected a DNS label" in done.output
    monkeypatch.setenv("SHOPRANK_KUBECTL", "/nonexistent/kubectl")
    done = runner.invoke(app, ["manifests", "render", "--overlay", "dev"])
    assert done.exit_code == 1 and "could not run /nonexistent/kubectl" in done.output


def test_validate_reports_each_problem_of_a_file_and_fails(tmp_path, crd_folder):
    broken = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "image": "shop:latest"}]}},
              {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "x"},
               "spec": {"predictor": {"minReplicas": "two"}}}]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(broken))
    done = runner.invoke(app, ["manifests", "validate", "--file", str(path), "--crd-dir", str(crd_folder)])
    assert done.exit_code == 1
    assert "InferenceService/x: spec.predictor.minReplicas" in done.output
    assert "runAsNonRoot is not true" in done.output and "'latest'" in done.output
    (tmp_path / "empty.yaml").write_text("---\n")
    done = runner.invoke(app, ["manifests", "validate", "--file", str(tmp_path / "empty.yaml"),
                               "--crd-dir", str(crd_folder)])
    assert done.exit_code == 1 and "no Kubernetes objects found" in done.output


def test_generate_check_fails_on_a_stale_file_and_generate_repairs_it(tmp_path, monkeypatch):
    import shoprank.pipelines.manifests_sources as sources

    for relative in GENERATED:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(render_generated(relative))
    (tmp_path / "base/rayjob.yaml").write_text("# edited by hand\n")
    monkeypatch.setattr(sources, "MANIFESTS_DIR", tmp_path)
    monkeypatch.setattr(sources.stale_files, "__defaults__", (tmp_path,))
    monkeypatch.setattr(sources.write_generated, "__defaults__", (tmp_path,))
    done = runner.invoke(app, ["manifests", "generate", "--check"])
    assert done.exit_code == 1 and "stale: manifests/base/rayjob.yaml" in done.output
    done = runner.invoke(app, ["manifests", "generate"])
    assert done.exit_code == 0 and "wrote 1 file(s)" in done.output
    assert stale_files(tmp_path) == []
