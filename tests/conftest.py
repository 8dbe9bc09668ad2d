"""Shared fixtures: the real test images from ../shared/images, pictures that scikit-image ships, small helpers.

The fast suite (``-m "not integration"``) uses ``package_images`` only, so it runs where ../shared is not;
``NSTYLE_SHARED`` points ``images`` at another shared folder (a missing one proves the fast suite needs none).
"""

import os
import signal
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("NSTYLE_SHARED") or Path(__file__).resolve().parents[2] / "shared")
SHARED_IMAGES = SHARED / "images"
# scikit-image's colour photos (skimage.data, in the package, no download): a cat, a cup, a portrait, a rocket.
PACKAGE_PICTURES = ("chelsea", "coffee", "astronaut", "rocket")


def pytest_configure(config):
    """Ctrl-C delivered as in a terminal, also when the suite runs as a background job (`make test &`): a shell
    starts those with SIGINT ignored, Python then installs no KeyboardInterrupt handler, and the children (Ray's
    workers) inherit the ignoring, so the tests of stopping would fail for the way they were started."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def images() -> dict[str, Path]:
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"the test images are not at {SHARED_IMAGES}")
    return {p.stem: p for p in SHARED_IMAGES.glob("*.jpg")}


@pytest.fixture(scope="session")
def package_images(tmp_path_factory) -> dict[str, Path]:
    """scikit-image's colour photos as JPEG files (quality 95, as photos come), by name."""
    import PIL.Image
    from skimage import data

    folder = tmp_path_factory.mktemp("package-images")
    paths = {}
    for name in PACKAGE_PICTURES:
        paths[name] = folder / f"{name}.jpg"
        PIL.Image.fromarray(getattr(data, name)()).convert("RGB").save(paths[name], quality=95)
    return paths


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance with 2 CPUs for every test that needs Ray (starting one takes seconds)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()
