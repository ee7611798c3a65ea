"""The block at the top of every notebook page: download it, open it in Colab, its environment, its run time.

The repository's address is set once, in ``book/_config.yml`` (``repository.url``, ``repository.branch``); the Colab
link is built from it. The badges are plain styled links: an image badge would be fetched from colab's site.
"""
from __future__ import annotations

import html
import re


def colab_url(repository_url: str, branch: str, path_in_repo: str) -> str:
    """Colab's address for a notebook on GitHub: colab.research.google.com/github/OWNER/REPO/blob/BRANCH/PATH."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repository_url.strip())
    if not match:
        raise ValueError(f"repository.url in book/_config.yml must be https://github.com/OWNER/REPO (Colab opens "
                         f"notebooks from GitHub), got {repository_url!r}")
    owner, repo = match.groups()
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{path_in_repo}"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def launch_block(notebook_name: str, *, repository_url: str, branch: str, seconds: float,
                 downloads_url: str) -> str:
    """Markdown (a raw HTML block) for the top of the page of ``notebooks/<notebook_name>``."""
    colab = html.escape(colab_url(repository_url, branch, f"notebooks/{notebook_name}"))
    return (
        "<div class='gigpo-launch'>\n"
        f"<a class='gigpo-badge' href='{downloads_url}/{notebook_name}' download>Download {notebook_name}</a>\n"
        f"<a class='gigpo-badge gigpo-colab' href='{colab}'>Open in Colab</a>\n"
        f"<a class='gigpo-badge' href='{downloads_url}/environment.yml' download>environment.yml</a>\n"
        f"<span class='gigpo-runtime'>Run time: {duration(seconds)} when this page was built (default "
        "parameters, CPU). The outputs below are from that run.</span>\n"
        "</div>\n")
