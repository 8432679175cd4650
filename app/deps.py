"""`Annotated` dependency aliases: how routers reach settings, resources and services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.resources import Resources


def get_resources(request: Request) -> Resources:
    """The lifespan-built resources of this app."""
    resources: Resources = request.app.state.resources
    return resources


def get_app_settings(request: Request) -> Settings:
    """The settings this app was built with."""
    settings: Settings = request.app.state.settings
    return settings


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
