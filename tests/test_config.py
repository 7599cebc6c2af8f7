from pathlib import Path

import pytest

from cadsynth.config import ConfigError, dump_config, load_config, parse_config


def test_embedded_default_needs_no_file():
    config = parse_config({})
    assert config.seeds.source == "program"
    assert len(config.judges) == 3
    assert "judge-a" in dump_config(config)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"loop": {"max_round": 3}}, "loop.max_round: unknown key; did you mean 'max_rounds'?"),
        ({"judgs": []}, "judgs: unknown key; did you mean 'judges'?"),
        ({"generators": [{"kind": "program", "candidats": 2}]}, "generators.0.candidats: unknown key; did you mean 'candidates'?"),
        ({"seeds": {"source": "jsonl"}}, "needs seeds.path"),
        ({"loop": {"max_rounds": 0}}, "loop.max_rounds: Input should be greater than or equal to 1"),
        ({"judges": [{"name": "x", "weights": "builtin:judge-a"}, {"name": "x", "weights": "builtin:judge-b"}]}, "repeated: x"),
    ],
)
def test_config_errors_say_what_to_fix(data, message):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert message in str(info.value)


def test_yaml_file_and_overrides(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("name: small\nseeds:\n  source: jsonl\n  path: seeds.jsonl\nloop:\n  target_kept: 10\n")
    config = load_config(path, {"loop.max_rounds": 3})
    assert config.name == "small"
    assert config.seeds.path == (tmp_path / "seeds.jsonl").resolve()
    assert config.loop.max_rounds == 3 and config.loop.target_kept == 10


def test_bad_yaml_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(bad)
