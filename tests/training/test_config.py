"""The example training config stays valid; paths are relative to the YAML file."""

from __future__ import annotations

import pytest

from ocularseg.core.errors import ConfigError
from ocularseg.training.config import TrainConfig, load_train_config


def test_example_config_lists_every_field_and_loads(repo_root):
    path = repo_root / "docs" / "configs" / "train.yaml"
    config = load_train_config(path)
    assert config.data == path.parent / "../../runs/phantoms"
    import yaml

    raw = yaml.safe_load(path.read_text())
    assert set(raw) == set(TrainConfig.model_fields)  # the example documents every field


def test_overrides_win_and_bad_values_name_the_field(tmp_path):
    (tmp_path / "c.yaml").write_text("data: d\nepochs: 3\n")
    assert load_train_config(tmp_path / "c.yaml", epochs=7).epochs == 7
    (tmp_path / "bad.yaml").write_text("data: d\nbatch_size: 0\n")
    with pytest.raises(ConfigError, match="batch_size"):
        load_train_config(tmp_path / "bad.yaml")
    (tmp_path / "aug.yaml").write_text("data: d\naugment: {blur: 1}\n")
    with pytest.raises(ConfigError, match="augment.blur"):
        load_train_config(tmp_path / "aug.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_train_config(tmp_path / "missing.yaml")
