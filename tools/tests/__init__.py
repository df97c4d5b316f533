"""The Python tests of Docket's tools: python3 -m pytest -q tools/tests (see conftest.py)."""
