from ansible_collections.prodgrade.kubernetes.plugins.filter.duplicates import (
    FilterModule,
    duplicates,
)


def test_reports_each_repeated_value_once_sorted():
    assert duplicates(["b", "a", "b", "c", "a", "b"]) == ["a", "b"]


def test_unique_input_has_no_duplicates():
    assert duplicates(["10.0.0.1", "10.0.0.2"]) == []


def test_blank_values_are_not_duplicates():
    assert duplicates(["", "", None, None, "x"]) == []


def test_registered_under_its_name():
    assert FilterModule().filters()["duplicates"] is duplicates
