"""The classifier's patterns compiled by the build (shared/bounces/patterns.py): sre's code written by
write_table must be the code re.compile makes, for every pattern the classifier uses, and a table that
another Python wrote is not used."""

from __future__ import annotations

import _sre
import importlib
import re
import runpy
import sys
import types

from mailfleet.shared.bounces import patterns, reasons


def test_the_table_holds_what_re_compile_makes_of_every_pattern(tmp_path):
    out = tmp_path / "_sre_code.py"
    written = patterns.write_table(str(out))
    table = runpy.run_path(str(out))
    assert table["BUILT_BY"] == patterns._built_by() and len(table["TABLE"]) == written
    # Each rule's phrases: the whole alternation and the branches filed under each literal.
    wanted = {(source, 0) for rule in reasons.RULES for source in rule.words.sources()}
    assert wanted <= table["TABLE"].keys()
    assert (reasons.STATUS_RX.pattern, 0) in table["TABLE"]  # and what modules compile when imported
    assert any(isinstance(pattern, bytes) for pattern, _ in table["TABLE"])  # the MIME reader's
    for (pattern, flags), code in table["TABLE"].items():
        made, made_by_re = _sre.compile(pattern, *patterns.unpacked(code)), re.compile(pattern, flags)
        # Pattern equality is sre's: the same flags, the same pattern, the same compiled code. Groups aside.
        assert made == made_by_re, pattern
        assert (made.groups, made.groupindex) == (made_by_re.groups, made_by_re.groupindex), pattern


def test_a_table_written_by_another_python_is_not_used(monkeypatch):
    pattern = r"(?P<word>x+)y"
    nothing = patterns.sre_code("(?!)", 0)  # used, every verdict would be wrong, and nothing would fail
    other = types.ModuleType("mailfleet.shared.bounces._sre_code")
    other.BUILT_BY, other.TABLE = "2.7.18 (default) sre 20031017", {(pattern, 0): nothing}
    monkeypatch.setitem(sys.modules, other.__name__, other)
    try:
        reloaded = importlib.reload(patterns)
        assert reloaded.TABLE == other.TABLE and reloaded._TABLE == {}
        assert reloaded.compile(pattern).match("xxy").group("word") == "xx"
    finally:
        monkeypatch.undo()
        importlib.reload(patterns)


def test_code_sre_refuses_falls_back_to_re(monkeypatch):
    pattern = r"(?P<word>x+)y"
    refused = patterns.packed(re.compile(pattern).flags, [999999], 0, {}, ())
    monkeypatch.setattr(patterns, "_TABLE", {(pattern, 0): refused})
    assert patterns.compile(pattern) == re.compile(pattern)
