"""Workflow definitions shipped with zhenggai."""
