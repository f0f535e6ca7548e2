import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodgrade.kubernetes.plugins.filter.cidr_overlaps import cidr_overlaps


def test_distinct_networks():
    assert cidr_overlaps("10.244.0.0/16", "10.96.0.0/12") == []
    assert cidr_overlaps("10.244.0.0/16,fd00:10::/56", "10.96.0.0/12,fd00:20::/112") == []


def test_overlap_is_named():
    assert cidr_overlaps("10.0.0.0/8", "10.96.0.0/12") == ["10.0.0.0/8 / 10.96.0.0/12"]
    assert cidr_overlaps("10.1.0.0/16, fd00::/48", "fd00::/112") == ["fd00::/48 / fd00::/112"]


@pytest.mark.parametrize("bad", ["10.96.0.1/12", "nonsense", ""])
def test_invalid(bad):
    with pytest.raises(AnsibleFilterError, match="is not a CIDR"):
        cidr_overlaps("10.244.0.0/16", bad)
