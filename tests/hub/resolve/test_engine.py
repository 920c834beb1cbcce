"""hub.yaml's `identity.engine` / `identity.spark`, the command line over them, and what a
store resolve says when the engine cannot run (no JVM here: tests/hub/resolve/test_spark.py
runs Spark itself)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hub.core.errors import HubError
from hub.resolve.engine import Engine, choose_engine
from hub.resolve.run import ResolveSummary, resolve_store
from schemas.config import ConfigError, load_config
from tests.cli import crmhub
from tests.hub.resolve.population import population, put
from tests.hub.test_sync import demo_project


def _config(tmp_path: Path, identity: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(f"identity:\n{identity}")
    return path


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (
            "  engine: flink\n",
            "identity.engine: Value error, 'flink' is not an engine — use local (in process) "
            "or spark (Apache Spark)",
        ),
        (
            "  spark: {master: 'local[two]'}\n",
            "identity.spark.master: Value error, 'local[two]' is not a Spark master URL — use "
            "local[2], local[*], spark://host:7077, yarn or k8s://https://host:443",
        ),
        (
            "  spark: {conf: {executor.cores: 2}}\n",
            "identity.spark.conf: Value error, executor.cores: not Spark settings — their "
            "names start with `spark.`",
        ),
        (
            "  spark: {conf: {spark.jars: [a.jar]}}\n",
            "identity.spark.conf.spark.jars: Input should be a valid string",
        ),
        (
            "  spark: {mastr: 'local[2]'}\n",
            "identity.spark.mastr: unknown key 'mastr' — remove it or check its spelling "
            "(allowed here: conf, driver_records, master, run_dir)",
        ),
        (
            "  spark: {conf: {spark.authenticate.secret: hunter2}}\n",
            "identity.spark.conf.spark.authenticate.secret: secrets must be written as "
            "${ENV_VAR} references",
        ),
    ],
)
def test_a_wrong_engine_setting_names_the_file_and_key(
    tmp_path: Path, identity: str, message: str
) -> None:
    path = _config(tmp_path, identity)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_engine_settings_are_read_as_spark_wants_them_and_frozen(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            "  engine: spark\n  spark:\n    master: spark://10.0.0.5:7077\n"
            "    run_dir: /data/ckpt\n"
            "    conf: {spark.executor.cores: 2, spark.eventLog.enabled: true,"
            " spark.authenticate.secret: '${SPARK_SECRET}'}\n",
        )
    )
    spark = config.identity.spark
    assert config.identity.engine == "spark"
    assert spark.master == "spark://10.0.0.5:7077"
    assert spark.conf == {
        "spark.executor.cores": "2",
        "spark.eventLog.enabled": "true",
        "spark.authenticate.secret": "${SPARK_SECRET}",  # not resolved while loading
    }
    with pytest.raises(ValueError, match="frozen"):
        spark.master = "local[1]"  # type: ignore[misc]
    defaults = load_config(_config(tmp_path, "  review_threshold: 0.7\n")).identity
    assert defaults.engine == "local"
    assert (defaults.spark.master, defaults.spark.run_dir) == ("local[2]", Path(".crmhub/spark"))


def test_the_command_line_overrides_hub_yaml_for_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_SECRET", "s3")
    config = load_config(
        _config(
            tmp_path,
            "  engine: spark\n  spark:\n    conf: {spark.authenticate.secret: '${SPARK_SECRET}'}\n",
        )
    )
    chosen = choose_engine(config)
    assert chosen == Engine(
        name="spark",
        master="local[2]",
        run_dir=tmp_path / ".crmhub" / "spark",  # relative to hub.yaml's folder
        conf={"spark.authenticate.secret": "s3"},  # the reference resolved at run time
    )
    assert chosen.checkpoints == tmp_path / ".crmhub" / "spark" / "store-resolve"
    monkeypatch.chdir(tmp_path)
    over = choose_engine(config, spark_master="local[4]", run_dir=Path("elsewhere"))
    assert (over.master, over.run_dir) == ("local[4]", tmp_path / "elsewhere")
    assert choose_engine(config, engine="local") == Engine()
    with pytest.raises(HubError, match="--engine flink: unknown engine — use one of local, spark"):
        choose_engine(config, engine="flink")
    with pytest.raises(HubError, match="--spark-master and --run-dir are options of --engine"):
        choose_engine(config, engine="local", spark_master="local[2]")


def test_without_pyspark_a_spark_run_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyspark is installed here: make it unimportable for this test, as on a machine
    # without the extra (a None entry in sys.modules makes `import` raise ImportError)
    for name in [n for n in sys.modules if n.startswith(("pyspark", "identity.backends.spark"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    config, store = demo_project(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")
    put(store, population(10, 1))
    spark = choose_engine(config, engine="spark")
    with pytest.raises(HubError, match=r"pip install 'crm-hub\[spark\]'"):
        resolve_store(config, store, actor="test", engine=spark)
    # nothing was written: a local run afterwards is the first (full) run
    done = resolve_store(config, store, actor="test")
    assert (done.mode, done.engine) == ("full", "local")
    store.dispose()


def test_the_summary_says_where_it_ran() -> None:
    counts = {
        "records": 10,
        "golden": 8,
        "new": 8,
        "merged": 0,
        "split": 0,
        "changed_golden": 8,
        "review": 1,
        "non_identifying": 0,
    }
    full = ResolveSummary(**counts, engine="spark", master="spark://h:7077")
    assert "(full run on Spark (spark://h:7077))" in full.line()
    assert "(full run)" in ResolveSummary(**counts).line()
    incremental = ResolveSummary(**counts, mode="incremental", affected=3, engine="spark")
    assert "(incremental, 3 records re-clustered; incremental: local engine)" in (
        incremental.line()
    )


def test_crmhub_resolve_refuses_engine_mistakes_in_store_mode(tmp_path: Path) -> None:
    demo_project(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")[1].dispose()
    unknown = crmhub("resolve", "--engine", "flink", cwd=tmp_path, inherit=True)
    assert unknown.returncode == 2
    assert "--engine flink: unknown engine — use one of local, spark" in unknown.stderr
    stray = crmhub("resolve", "--run-dir", "x", cwd=tmp_path, inherit=True, columns=400)
    assert stray.returncode == 2
    assert "--spark-master and --run-dir are options of --engine spark" in stray.stderr
    assert "identity.engine is local" in stray.stderr
