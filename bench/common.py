"""Shared by the evaluation scripts: turning sample files into a patch that adds them."""

from __future__ import annotations


def as_patch(path: str, content: str) -> str:
    """A git diff that adds `path` with `content` (so every line is an added, reviewable line)."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = "".join("+" + ln + "\n" for ln in lines)
    header = f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
    return f"{header}@@ -0,0 +1,{len(lines)} @@\n{body}"
