"""`watch --preview`: the page is rewritten after each build and an open page reloads itself;
crop-box labels never overlap (read from Chromium's layout)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_preview import _chrome

# four 16:9 and 4:3 crops of a 4:3 master whose focus points put their boxes' tops a few pixels apart
FOCUS = "focus: {article: [0.5, 0.50], mobile-article: [0.5, 0.52], single: [0.5, 0.48], mobile-single: [0.5, 0.5]}"


def wait(predicate, timeout=30.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def labels(browser, section: str) -> list[dict]:
    return browser.execute_script(
        f"return Array.from(document.querySelectorAll('#{section} .label')).map(l => {{"
        "const r = l.getBoundingClientRect(); const b = document.querySelector(`#"
        + section
        + ' .box[title="${l.dataset.variant}"]`).getBoundingClientRect();'
        "return {v: l.dataset.variant, left: r.left, top: r.top, right: r.right, bottom: r.bottom, boxTop: b.top, boxLeft: b.left}})"
    )


def overlaps(a, b) -> bool:
    return (
        a["left"] < b["right"] - 0.5
        and b["left"] < a["right"] - 0.5
        and a["top"] < b["bottom"] - 0.5
        and b["top"] < a["bottom"] - 0.5
    )


@pytest.mark.slow
def test_live_preview_reloads_after_a_build_and_labels_never_overlap(site, tmp_path):
    site.article("crowded", extra=FOCUS)
    site.master("crowded", (1600, 1200))
    site.article("plain")
    site.master("plain", (1920, 1080))
    # the static page has no script at all
    r = subprocess.run([sys.executable, "-m", "renditions", "preview", "--root", str(site.root)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    page = site.root / ".renditions" / "preview" / "index.html"
    assert "<script" not in page.read_text()

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "renditions", "watch", "--root", str(site.root), "-j", "1", "--preview"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: [lines.append(ln.rstrip("\n")) for ln in proc.stdout], daemon=True).start()
    browser = None
    try:
        url = wait(lambda: next((ln.split()[1] for ln in lines if ln.startswith("preview: ")), None), 60, "the preview line")
        wait(lambda: any(ln.startswith("watching") for ln in lines), 60, "watching")
        assert "<script" in page.read_text()
        assert "rebuilt by <code>renditions watch --preview</code> on every change" in page.read_text()
        browser = _chrome(tmp_path)
        browser.get(url)
        for section in ("crowded", "plain"):
            found = labels(browser, section)
            assert len(found) == 4, found
            for i, a in enumerate(found):
                for b in found[i + 1 :]:
                    assert not overlaps(a, b), (a, b)
                assert a["left"] == pytest.approx(a["boxLeft"], abs=1.5)  # at its box's left edge...
                assert a["top"] >= a["boxTop"] - 1.5  # ...at or just below its top
                assert a["top"] - a["boxTop"] < 4 * (a["bottom"] - a["top"])
        before = browser.execute_script(
            "return document.querySelector('#plain .box[title=\"mobile-single\"]').getBoundingClientRect().left"
        )
        browser.execute_script("window.notReloaded = true")
        # an edit: plain's crops move to the master's left edge; the open page follows by itself
        site.article("plain", extra="focus: [0.0, 0.5]")
        wait(lambda: not browser.execute_script("return window.notReloaded === true"), 60, "the page to reload itself")
        wait(
            lambda: browser.execute_script("return document.querySelector('#plain .box[title=\"mobile-single\"]') !== null"),
            10,
            "the new page",
        )
        frame = browser.execute_script("return document.querySelector('#plain .frame img').getBoundingClientRect().left")
        after = browser.execute_script(
            "return document.querySelector('#plain .box[title=\"mobile-single\"]').getBoundingClientRect().left"
        )
        assert after == pytest.approx(frame, abs=1.5) and after < before
    finally:
        if browser is not None:
            browser.quit()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
