import numpy as np
import pandas as pd
import pytest

from opiaxis import dosing
from opiaxis.models import default_model
from opiaxis.study import drug_routes, iu_factors


@pytest.fixture(scope="session")
def model():
    return default_model()


def doses_for(model, regimens, ids=(1,)):
    rows = pd.concat([dosing.parse_regimen(t, drugs=drug_routes(model), unit_factors=iu_factors(model))
                      for t in regimens], ignore_index=True)
    frames = [rows.assign(ID=i) for i in ids]
    return dosing.expand_doses(pd.concat(frames, ignore_index=True)[list(dosing.EVENT_COLUMNS)])


@pytest.fixture(scope="session")
def make_doses():
    return doses_for
