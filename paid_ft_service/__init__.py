"""Paid fine-tuning: provider adapters, dataset conversion, graders, cost-benefit, job monitor.

Importing this package pulls no provider SDK; each adapter imports its SDK when it is built.
"""
