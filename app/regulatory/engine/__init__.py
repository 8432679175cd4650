"""Offline rules-based regulatory engine (classification, purpose, plans, refine)."""

from app.regulatory.engine.errors import (
    NotAMedicalDeviceError,
    RegulatoryEngineError,
    UnusableCategoryError,
)
from app.regulatory.engine.rules_engine import RulesEngine, new_plan_id

__all__ = [
    "NotAMedicalDeviceError",
    "RegulatoryEngineError",
    "RulesEngine",
    "UnusableCategoryError",
    "new_plan_id",
]
