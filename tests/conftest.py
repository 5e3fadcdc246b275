import os
import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    is_root = os.geteuid() == 0
    have_runc = shutil.which("runc") is not None
    for item in items:
        if "root" in item.keywords and not (is_root and have_runc):
            item.add_marker(pytest.mark.skip(reason="needs root and runc (the real data plane)"))
