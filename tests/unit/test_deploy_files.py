"""The ready-to-copy deployment files in config/deploy stay true to Podium and to nginx."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from server.settings import CONFIG_DIR, documented_setting_names

DEPLOY = CONFIG_DIR / "deploy"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
)


def test_the_environment_file_sets_only_real_settings_and_no_secret():
    lines = (DEPLOY / "podium.env.example").read_text().splitlines()
    assignments = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))
    podium = {name for name in assignments if name.startswith("PODIUM_")}
    assert {name.removeprefix("PODIUM_").lower() for name in podium} <= documented_setting_names()
    assert assignments["PODIUM_SECRET_KEY"] == "" and assignments["PGPASSWORD"] == ""


def test_the_service_runs_several_workers_with_ports_the_nginx_site_knows():
    service = (DEPLOY / "podium.service").read_text()
    site = (DEPLOY / "nginx-podium.conf").read_text()
    serve = re.search(r"^ExecStart=.*podium serve (.*)$", service, re.M).group(1).split()
    workers = int(serve[serve.index("--workers") + 1])
    first = int(serve[serve.index("--worker-ports") + 1])
    pinned = re.search(r"upstream podium_pinned \{(.*?)\}", site, re.S).group(1)
    own_ports = set(re.findall(r"server 10\.0\.0\.11:(\d+);", pinned))
    assert own_ports == {str(first + n) for n in range(workers)}
    assert "KillMode=mixed" in service  # SIGTERM to the supervisor only


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (CI does not need it)")
def test_the_nginx_site_is_valid_nginx(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=podium.example.org", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx-podium.conf").read_text()
    for deployed, local in {
        "/etc/letsencrypt/live/podium.example.org/fullchain.pem": cert,
        "/etc/letsencrypt/live/podium.example.org/privkey.pem": key,
        "/var/cache/nginx/podium-media": tmp_path / "cache",
        "/var/log/nginx/podium.access.log": tmp_path / "access.log",
    }.items():
        assert deployed in site
        site = site.replace(deployed, str(local))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include {tmp_path}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    # Newer nginx (1.25.1+) prefers "http2 on;", which 1.22 (Debian 12) does not know.
    warnings = [w for w in checked.stderr.splitlines() if "[warn]" in w and "http2" not in w]
    assert warnings == [], checked.stderr
