"""Debian's Chromium as the browser tests and the front-end benchmark launch it: offline, headless,
never a browser downloaded by Playwright."""

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
