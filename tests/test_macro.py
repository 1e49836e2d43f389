import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasgen.errors import InvalidMacroError
from nasgen.space.macro import CHANNELS, HLLayer, HLSequence, Layer, MacroArch, load_spec, reference_macro
from tests.conftest import cells, macros

channel = st.sampled_from(CHANNELS)
stride = st.sampled_from((1, 2))


@given(macros())
def test_macro_json_round_trip(m):
    assert MacroArch.from_json(m.to_json()) == m
    assert MacroArch.from_dict(m.to_dict(cell_ids=True)).arch_id == m.arch_id
    assert load_spec(m.to_json()) == m


@given(st.lists(st.tuples(st.integers(0, 50), channel, stride), min_size=1, max_size=20), st.data())
def test_hl_sequence_round_trip_and_materialise(triples, data):
    hl = HLSequence(tuple(HLLayer(*t) for t in triples))
    assert HLSequence.from_json(hl.to_json()) == hl and load_spec(hl.to_json()) == hl
    chosen = [data.draw(cells()) for _ in triples]
    m = hl.materialise(chosen)
    assert [(x.channels, x.stride) for x in m.layers] == [(c, s) for _, c, s in triples]
    assert [x.cell for x in m.layers] == chosen


def test_reference_macro_is_eq_1():
    cell = load_spec('{"nodes": ["input", "conv_3", "output"], "edges": [[0, 1], [1, 2]]}')
    m = reference_macro(cell)
    assert len(m.layers) == 17 and m.input_shape == (3, 32, 32) and m.classes == 10
    assert [x.channels for x in m.layers] == [16] * 6 + [32] * 6 + [64] * 5
    assert [i for i, x in enumerate(m.layers) if x.stride == 2] == [6, 12]
    assert all(x.cell == cell for x in m.layers)


@pytest.mark.parametrize(
    "layers, kw, message",
    [
        ([], {}, "1..20 positions"),
        ([(16, 1)] * 21, {}, "1..20 positions"),
        ([(12, 1)], {}, "channels 12 not in"),
        ([(2048, 1)], {}, "channels 2048 not in"),
        ([(16, 3)], {}, "stride 3 not in"),
        ([(16, 1)], {"input_shape": (3, 32)}, "three positive integers"),
        ([(16, 1)], {"classes": 0}, "classes must be a positive integer"),
    ],
)
def test_invalid_macros_get_precise_errors(layers, kw, message):
    cell = load_spec('{"nodes": ["input", "skip", "output"], "edges": [[0, 1], [1, 2]]}')
    with pytest.raises(InvalidMacroError, match=message):
        MacroArch(tuple(Layer(cell, c, s) for c, s in layers), **kw)


def test_bad_cell_inside_macro_names_the_position():
    cell = {"nodes": ["input", "conv_9", "output"], "edges": [[0, 1], [1, 2]]}
    text = json.dumps({"layers": [{"cell": cell, "channels": 16, "stride": 1}]})
    with pytest.raises(InvalidMacroError, match="position 0: unknown operation 'conv_9'"):
        load_spec(text)
    with pytest.raises(InvalidMacroError, match="negative"):
        HLSequence((HLLayer(-1, 16, 1),))
    with pytest.raises(InvalidMacroError, match="expected a cell"):
        load_spec("[1, 2]")


def test_numpy_integers_become_python_ints_and_floats_or_bools_are_refused():
    import numpy as np

    from nasgen.space.cell import Cell
    from nasgen.space.cost import cell_cost, macro_cost
    from nasgen.space.ops import _op_cost, op_cost

    cell = Cell.from_dict({"nodes": ["input", "conv_3", "output"], "edges": [[0, 1], [1, 2]]})
    m = MacroArch.from_triples([(cell, np.int64(64), np.int64(2))], input_shape=(np.int64(3), 32, 32),
                               classes=np.int32(10))  # fmt: skip
    plain = MacroArch.from_triples([(cell, 64, 2)], input_shape=(3, 32, 32), classes=10)
    assert type(m.layers[0].channels) is int and type(m.classes) is int and type(m.input_shape[0]) is int
    assert m.to_json() == plain.to_json() and m.arch_id == plain.arch_id
    for bad, what in ((64.0, "channels"), (True, "channels")):
        with pytest.raises(InvalidMacroError, match=what):
            MacroArch.from_triples([(cell, bad, 1)])
    with pytest.raises(InvalidMacroError, match="stride"):
        MacroArch.from_triples([(cell, 64, 1.0)])
    with pytest.raises(InvalidMacroError, match="classes"):
        MacroArch.from_triples([(cell, 64, 1)], classes=True)
    with pytest.raises(InvalidMacroError, match="input"):
        MacroArch.from_triples([(cell, 64, 1)], input_shape=(3.0, 32, 32))
    # a numpy-typed call first must not leave numpy values in the caches for later int calls
    _op_cost.cache_clear()
    first = cell_cost(cell, np.int64(24), np.int64(5), 5)
    assert all(type(v) is int for v in (first.params, first.flops, *op_cost(cell.ops[0], 24)))
    cost = macro_cost(plain)
    assert type(cost.params) is int and type(cost.flops) is int
    with pytest.raises(TypeError):
        op_cost(cell.ops[0], 24.0)
