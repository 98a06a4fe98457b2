"""Each test leaves every patch as it found it (installed or not): tests run both paths."""

from __future__ import annotations

import pytest

from seamless import compat


@pytest.fixture(autouse=True)
def _patches_restored():
    before = {name: compat.patch(name).installed for name in compat.NAMES}
    yield
    for name, was in before.items():
        patch = compat.patch(name)
        if patch.installed != was:
            patch.uninstall()
            if was:
                assert patch.install()


@pytest.fixture
def patched():
    """``patched(name)``: the patch installed (it must be, in the tested versions)."""

    def install(name: str) -> None:
        if not compat.installed(name):
            compat.patch(name).uninstall()  # a fallback tried earlier (another version faked) is forgotten
        assert compat.install(name) == [name], compat.status()[name]

    return install


@pytest.fixture
def unpatched():
    """``unpatched(name)``: the library's own path."""

    def uninstall(name: str) -> None:
        compat.patch(name).uninstall()

    return uninstall
