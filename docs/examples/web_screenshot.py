"""The screenshots of the web page in docs/WEB.md: docs/images/web.png (a real `nstyle serve`, a real finished job
and a second one part-way) and, with --preview, docs/images/web_preview.png (the instant preview, no job run).

    PYTHONPATH=src python docs/examples/web_screenshot.py [docs/images/web.png]
    PYTHONPATH=src python docs/examples/web_screenshot.py --preview [docs/images/web_preview.png]

Uses Debian's chromium through Playwright (as the browser test does) and the test images of ../shared/images.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "interfaces"))
from web_server import page_with_pictures  # noqa: E402

IMAGES = ROOT.parent / "shared" / "images"
CAPTURE_AT = 95  # the second run is pictured 15 iterations into its 256 px level (80 at 128 px come first)


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        with page_with_pictures(browser, Path(tmp) / "data", IMAGES / "tubingen.jpg", IMAGES / "starry_night.jpg",
                                viewport=(1280, 900)) as page:
            for field, value in {"size": "256", "iterations": "40", "levels": "2", "strength": "0.3"}.items():
                page.fill(f"#opt-{field}", value)
            page.click("#submit")
            page.wait_for_selector("#job[data-status=done]", timeout=900_000)
            page.wait_for_function("document.querySelector('#live').complete && "
                                   "document.querySelector('#live').naturalWidth > 0")
            page.wait_for_selector("#gallery .card.done img")
            # Run it again and take the picture while the second run is under way: the live view and the
            # finished first run in the gallery, then stop the second one (its image so far is kept).
            page.click("#again")
            page.wait_for_function("document.querySelector('#job').dataset.status === 'running' && "
                                   f"Number(document.querySelector('#job').dataset.iteration) >= {CAPTURE_AT}",
                                   timeout=900_000)
            page.wait_for_timeout(1500)  # the preview image of that iteration loads
            page.evaluate("window.scrollTo(0, 0)")
            target.write_bytes(page.screenshot(full_page=True))
            page.click("#stop")
            page.wait_for_selector("#job[data-status=cancelled]", timeout=120_000)
        browser.close()
    print(f"wrote {target}")


def preview(target: Path) -> None:
    """The page a few seconds after choosing the pictures and a strength: the fast network's preview, labelled."""
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        with page_with_pictures(browser, Path(tmp) / "data", IMAGES / "tubingen.jpg", IMAGES / "starry_night.jpg",
                                viewport=(1280, 900)) as page:
            page.wait_for_selector("#job[data-preview='1']", timeout=120_000)
            page.fill("#opt-strength", "0.3")
            page.wait_for_function("document.querySelector('#job').dataset.preview === '2' && "
                                   "document.querySelector('#live').complete", timeout=120_000)
            target.write_bytes(page.screenshot(full_page=True))
        browser.close()
    print(f"wrote {target}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--preview"]:
        preview(Path(args[1]) if len(args) > 1 else ROOT / "docs" / "images" / "web_preview.png")
    else:
        main(Path(args[0]) if args else ROOT / "docs" / "images" / "web.png")
