"""Helpers shared by the test suites' conftests: real PostgreSQL schemas and Redis databases.

Imported as ``tests.support`` (pyproject puts the repository root on ``sys.path`` for pytest,
whose importlib mode has no test packages of its own).
"""
