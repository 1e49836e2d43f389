"""A config-only stage's section comes from its config beside its code (``SECTION``), not a field in
nasgen/config.py: it is a typed, defaulted section of the profile that YAML files and ``--set`` reach, and a
misspelt or doubly declared section is an error."""

from __future__ import annotations

import sys
import types
from typing import ClassVar

import pytest
from pydantic import Field

from nasgen.config import Profile, ProfileFields, declared_sections, profile_model, profile_yaml, settle
from nasgen.errors import ConfigError
from nasgen.frozen import Frozen
from nasgen.nb201.config import NB201ProxiesConfig


class ExampleConfig(Frozen):
    SECTION: ClassVar[str] = "example"

    n: int = Field(3, ge=1)
    mode: str = "fast"


@pytest.fixture
def example_module(monkeypatch):
    mod = types.ModuleType("example_pkg.config")
    ExampleConfig.__module__ = mod.__name__
    mod.ExampleConfig, mod.Frozen = ExampleConfig, Frozen  # an imported base is not a declaration
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    return mod.__name__


def test_a_declared_section_is_a_typed_defaulted_profile_section(example_module, tmp_path):
    model = profile_model(declared_sections([example_module]))
    prof = model(name="tiny")
    assert prof.example == ExampleConfig() and isinstance(prof.example, ExampleConfig)
    assert settle(prof, overrides={"example.n": 5}).example.n == 5  # --set reaches it
    f = tmp_path / "p.yaml"
    f.write_text("example: {mode: slow}\n")
    assert settle(prof, config_file=f).example == ExampleConfig(mode="slow")  # so does a --config file
    assert profile_yaml(settle(prof, overrides={"example.n": 5})).strip() == "example: {n: 5}"
    with pytest.raises(ConfigError, match="example.n"):
        settle(prof, overrides={"example.n": 0})  # validated by its class
    with pytest.raises(ConfigError, match="unknown config section 'exampel'"):
        settle(prof, overrides={"exampel.n": 5})


def test_a_section_is_declared_once(example_module):
    class Again(Frozen):
        SECTION: ClassVar[str] = "cells"  # a field of ProfileFields already

    sys.modules[example_module].Again = Again
    Again.__module__ = example_module
    with pytest.raises(TypeError, match="profile section 'cells' declared twice"):
        declared_sections([example_module])


def test_nb201_proxies_is_a_declared_section_of_the_real_profile():
    assert "nb201_proxies" not in ProfileFields.model_fields
    assert Profile.model_fields["nb201_proxies"].annotation is NB201ProxiesConfig
    assert Profile(name="demo").nb201_proxies == NB201ProxiesConfig()
