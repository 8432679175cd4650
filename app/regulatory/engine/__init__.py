"""Offline rules-based regulatory engine (classification, purpose, plans, refine)."""

from app.regulatory.engine.errors import (
    InvalidCategoryError,
    NotAMedicalDeviceError,
    RegulatoryEngineError,
)
from app.regulatory.engine.rules_engine import RulesEngine, new_plan_id

__all__ = [
    "InvalidCategoryError",
    "NotAMedicalDeviceError",
    "RegulatoryEngineError",
    "RulesEngine",
    "new_plan_id",
]
