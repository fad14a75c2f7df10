"""Shared inputs of the vendor onboarding tests: the sample firm's policy and the sample SDN list."""

from __future__ import annotations

import pytest

from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sample_vendors import sample_policy
from backoffice.vendors.sanctions import SanctionsList, load_sample_sanctions_list


@pytest.fixture(scope="session")
def sdn_list() -> SanctionsList:
    return load_sample_sanctions_list()


@pytest.fixture
def policy() -> VendorPolicy:
    return sample_policy()
