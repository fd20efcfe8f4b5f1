"""``scripts/browser-deps`` says why it cannot install Chromium instead of failing without a word."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "browser-deps"


def test_without_apt_get_it_names_the_reason(tmp_path: Path) -> None:
    """Run on a PATH holding only what the script needs besides apt-get, with Chromium's path hidden by
    running a copy whose check points at a file that does not exist."""
    script = tmp_path / "browser-deps"
    script.write_text(SCRIPT.read_text().replace("/usr/bin/chromium ]", f"{tmp_path}/no-chromium ]"))
    script.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [str(bin_dir / "bash"), str(script)], env={"PATH": str(bin_dir)}, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(
        "scripts/browser-deps: /usr/bin/chromium is missing and this machine has no apt-get"
    )
    assert "-m 'not browser'" in result.stderr
