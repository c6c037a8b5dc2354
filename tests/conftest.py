import pytest

from opiaxis.models import default_model
from opiaxis.study import regimen_doses


@pytest.fixture(scope="session")
def model():
    return default_model()


def doses_for(model, regimens, ids=(1,)):
    return regimen_doses(model, ids, regimens)


@pytest.fixture(scope="session")
def make_doses():
    return doses_for
