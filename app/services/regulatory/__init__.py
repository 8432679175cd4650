"""Offline rules-based regulatory engine (classification, purpose, plans, refine)."""

from app.services.regulatory.engine import RulesEngine, new_plan_id
from app.services.regulatory.errors import (
    InvalidCategoryError,
    NotAMedicalDeviceError,
    RegulatoryEngineError,
)

__all__ = [
    "InvalidCategoryError",
    "NotAMedicalDeviceError",
    "RegulatoryEngineError",
    "RulesEngine",
    "new_plan_id",
]
