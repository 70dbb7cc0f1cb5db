"""Headless Debian chromium driven by selenium, for the page tests and the README screenshot.
Installed by scripts/install_browser.sh (apt: chromium, chromium-driver)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is not installed (run scripts/install_browser.sh)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[dev])"
    return None


class Browser:
    """One chromium with a fresh profile, closed (and the profile removed) on exit."""

    def __init__(self, width: int = 1280, height: int = 900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="t2l-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in FLAGS + [f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]:
            opts.add_argument(flag)
        # An explicit driver path: selenium never tries to download one.
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def ask(self, url: str, description: str, prompt: str, max_tokens: int = 48, timeout: float = 300.0,
            in_prompt: bool = False) -> dict:
        """Type a description and a message into the page, send, wait for both answers."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        d = self.driver
        d.get(url)
        WebDriverWait(d, 60).until(lambda d: d.find_element(By.ID, "meta").text.startswith("base "))
        d.find_element(By.ID, "description").send_keys(description)
        box = d.find_element(By.ID, "max-tokens")
        box.clear()
        box.send_keys(str(max_tokens))
        d.find_element(By.ID, "prompt").send_keys(prompt)
        if in_prompt:
            d.find_element(By.ID, "in-prompt").click()
        d.find_element(By.ID, "send").click()

        def done(d):
            return all(d.find_element(By.ID, f"{c}-stats").text for c in ("adapted", "base")) or \
                d.find_elements(By.CSS_SELECTOR, ".msg.error")

        WebDriverWait(d, timeout).until(done)
        out = {"errors": [e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.error")]}
        for c in ("adapted", "base"):
            msgs = d.find_elements(By.CSS_SELECTOR, f"#{c}-log .msg")
            out[c] = {"user": msgs[0].text if msgs else "", "answer": msgs[-1].text if len(msgs) > 1 else "",
                      "stats": d.find_element(By.ID, f"{c}-stats").text}
        return out

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))
