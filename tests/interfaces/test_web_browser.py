"""End to end in a real headless browser: Debian's chromium driven by Playwright against a real `nstyle serve`.

Upload a content and a style image, run a tiny job, see the progress and the result, download it. Skips (with
the reason) where chromium or Playwright is missing; `make setup` installs both where it can.
"""

from __future__ import annotations

import json
from pathlib import Path

import PIL.Image
import pytest

from .web_server import page_with_pictures

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make setup does it)")
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: `make setup` installs Debian's chromium when run as root")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def test_upload_run_watch_and_download(browser, images, tmp_path):
    data = tmp_path / "data"
    with page_with_pictures(browser, data, images["tubingen"], images["starry_night"]) as page:
        assert page.locator("#content-thumbs img").count() == 1
        assert page.locator("#style-thumbs img").count() == 1
        page.fill("#opt-size", "64")
        page.fill("#opt-iterations", "30")
        page.fill("#opt-levels", "1")
        page.click("#submit")

        # Progress while it runs: the bar, the iteration, the loss and the time left.
        page.wait_for_selector("#job[data-status=running]", timeout=60_000)
        page.wait_for_function("document.querySelector('#stats').textContent.includes('left')", timeout=60_000)
        running = page.text_content("#stats")
        assert "iteration" in running and "/ 30" in running and "loss" in running, running
        page.wait_for_selector("#job[data-status=done]", timeout=120_000)
        assert int(page.get_attribute("#job", "data-updates")) >= 2  # live updates, not one final answer
        stats = page.text_content("#stats")
        assert "iteration 30 / 30" in stats and "done after 30 iterations" in stats, stats
        assert page.eval_on_selector("#bar", "b => b.value") == 1
        page.wait_for_function("document.querySelector('#live').complete && "
                               "document.querySelector('#live').naturalWidth === 64")
        assert page.text_content("#job-error") == ""

        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / "download.png"
        download.value.save_as(saved)
        result = PIL.Image.open(saved)
        assert result.format == "PNG" and max(result.size) == 64

        # The gallery shows it, with its settings; on disk its record says done.
        page.wait_for_selector("#gallery .card.done")
        assert "size 64" in page.text_content("#gallery .card.done")
        (job_dir,) = (data / "jobs").iterdir()
        assert json.loads((job_dir / "job.json").read_text())["status"] == "done"

        # A bad upload gets a clear message on the page.
        page.set_input_files("#content-input", files=[{"name": "notes.txt", "mimeType": "image/png",
                                                       "buffer": b"not an image"}])
        page.click("#submit")
        page.wait_for_function("document.querySelector('#message').textContent.length > 0")
        assert "not a recognised image format" in page.text_content("#message")
        page.close()


def test_the_regions_auto_maps_found_are_shown_beside_the_result(browser, images, tmp_path):
    with page_with_pictures(browser, tmp_path / "data", images["tubingen"], images["starry_night"],
                            viewport=(1200, 1100)) as page:
        page.fill("#opt-size", "64")
        page.fill("#opt-iterations", "4")
        page.fill("#opt-levels", "1")
        page.select_option("#opt-auto_maps", "2")
        page.click("#submit")
        page.wait_for_selector("#job[data-status=done]", timeout=120_000)
        page.wait_for_selector("#maps-results:not([hidden])")
        assert page.locator("#maps figure").count() == 2
        assert page.locator("#maps figcaption").all_text_contents() == ["content regions", "style regions"]
        page.wait_for_function("[...document.querySelectorAll('#maps img')].every(i => i.complete && i.naturalWidth)")
        widths = page.eval_on_selector_all("#maps img", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths[0] == 64 and widths[1] == PIL.Image.open(images["starry_night"]).width
        if shot := __import__("os").environ.get("NSTYLE_SCREENSHOT"):
            page.screenshot(path=shot, full_page=True)
        page.close()


PIXELS = """img => { const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight; const g = c.getContext('2d');
  g.drawImage(img, 0, 0); return g.getImageData(0, 0, c.width, c.height).data; }"""
#: Keeps the picture shown now, for MEAN_CHANGE to compare the next one with.
KEEP = f"img => {{ window.keptPixels = ({PIXELS})(img); }}"
#: The mean change of a pixel channel (0..255) from the kept picture to the one shown now.
MEAN_CHANGE = f"""img => {{ const now = ({PIXELS})(img), was = window.keptPixels; let sum = 0;
  for (let i = 0; i < now.length; i++) sum += Math.abs(now[i] - was[i]); return sum / now.length; }}"""
LOADED = "n => document.querySelector('#live').complete && document.querySelector('#job').dataset.preview === String(n)"


def test_a_fast_preview_appears_at_once_follows_the_strength_and_gives_way_to_the_job(browser, images, tmp_path):
    data = tmp_path / "data"
    with page_with_pictures(browser, data, images["tubingen"], images["starry_night"]) as page:

        # No button pressed: the preview comes where the result goes, labelled, 384 px (the first loads the network).
        page.wait_for_function(LOADED, arg=1, timeout=60_000)
        assert page.get_attribute("#job", "data-status") == "preview"
        assert page.eval_on_selector("#live", "i => [i.naturalWidth, i.naturalHeight]") == [384, 288]
        assert page.is_visible("#preview-badge") and page.text_content("#preview-badge") == "preview"
        assert page.text_content("#job-title").startswith("Preview: tubingen.jpg in the style of starry_night.jpg")
        assert not page.is_visible("#stop") and not page.is_visible("#download")
        page.eval_on_selector("#live", KEEP)

        # A new strength: a new picture, without pressing anything.
        page.fill("#opt-strength", "0.95")
        page.wait_for_function(LOADED, arg=2, timeout=60_000)
        change = page.eval_on_selector("#live", MEAN_CHANGE)
        assert change > 5, change  # the strokes and colours grow, not a re-encoding's noise
        assert not (data / "jobs").exists() or not any((data / "jobs").iterdir())  # previews store nothing

        # A bad strength: its one line where the preview goes, and the page still works.
        page.fill("#opt-strength", "3")
        page.wait_for_function("document.querySelector('#job-error').textContent.includes('strength 3')",
                               timeout=60_000)

        # Stylise: the full job runs as before and its result replaces the preview.
        page.fill("#opt-strength", "0.5")
        page.fill("#opt-size", "64")
        page.fill("#opt-iterations", "4")
        page.fill("#opt-levels", "1")
        page.click("#submit")
        page.wait_for_selector("#job[data-status=done]", timeout=120_000)
        page.wait_for_function("document.querySelector('#live').complete && "
                               "document.querySelector('#live').naturalWidth === 64")
        assert not page.is_visible("#preview-badge") and page.is_visible("#download")
        page.wait_for_timeout(500)  # a preview asked for just before Stylise must not come back over the result
        assert page.get_attribute("#job", "data-status") == "done"
        page.close()
