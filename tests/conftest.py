import sys
from pathlib import Path

import pytest


@pytest.fixture
def seamless_cmd() -> list[str]:
    """The installed `seamless` console script (the one `make test` installed)."""
    script = Path(sys.executable).parent / "seamless"
    assert script.exists(), f"console script missing at {script}; run `make test` to install"
    return [str(script)]
