"""Shared fixtures: the real test images from ../shared/images and small helpers."""

from pathlib import Path

import pytest

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


@pytest.fixture(scope="session")
def images() -> dict[str, Path]:
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"the test images are not at {SHARED_IMAGES}")
    return {p.stem: p for p in SHARED_IMAGES.glob("*.jpg")}


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance with 2 CPUs for every test that needs Ray (starting one takes seconds)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()
