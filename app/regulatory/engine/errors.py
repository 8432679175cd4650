"""Domain errors of the regulatory engine; the platform maps them to HTTP 400 codes."""

from __future__ import annotations


class RegulatoryEngineError(Exception):
    """Base class: a request the engine understood but cannot answer."""

    code = "REGULATORY_ERROR"

    def __init__(self, message: str, *, language: str = "en") -> None:
        super().__init__(message)
        self.message = message
        self.language = language


class NotAMedicalDeviceError(RegulatoryEngineError):
    """Plans were asked for a product classified as not a medical device."""

    code = "DEVICE_NOT_MEDICAL"


class UnusableCategoryError(RegulatoryEngineError):
    """The category is blank or names a non-device category."""

    code = "INVALID_CATEGORY"
