"""The package's public names are the functions, whichever submodule was imported first."""

import subprocess
import sys


def test_availability_and_assess_are_functions_after_their_submodules_were_imported():
    # importing a submodule binds the package attribute of the same name to the module; the lazy package must not
    # let that hide the function (`accelplan equiv --region` and api.compare import the names from the package)
    code = ("import types, accelplan.economics.assess, accelplan.economics.availability\n"
            "from accelplan.economics import assess, availability\n"
            "assert isinstance(assess, types.FunctionType), assess\n"
            "assert isinstance(availability, types.FunctionType), availability\n"
            "print(availability('b200-hgx', 'CN').status)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "prohibited"


def test_importing_the_package_and_its_cli_loads_no_pydantic():
    # the main CLI imports accelplan.economics.cli at start-up to register `sources`
    code = "import sys, accelplan.economics, accelplan.economics.cli; print('pydantic' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
