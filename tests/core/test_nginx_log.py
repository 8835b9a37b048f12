"""nginx's access log never carries a reset or invitation token: the production site and the
local cluster log in the format of deploy/nginx-log.conf, which a real nginx (the one the
cluster runs) is started with here."""

import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TOKEN = "cw1b2k-0f3c9d0e8a7b6c5d4e3f2a1b0c9d8e7f"
SITES = [ROOT / "deploy" / "nginx.conf", ROOT / "deploy" / "cluster" / "nginx.conf.in"]


def test_every_access_log_of_the_site_and_the_cluster_uses_the_redacting_format() -> None:
    for site in SITES:
        text = site.read_text()
        assert "deploy/nginx-log.conf;" in text, site
        access_logs = re.findall(r"^\s*access_log\s+([^;]+);", text, flags=re.MULTILINE)
        assert access_logs, site
        for directive in access_logs:
            words = directive.split()
            assert words == ["off"] or words[1] == "vaxbook", (site, directive)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nginx_logs_a_reset_link_without_its_token(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "access.log"
    (tmp_path / "nginx.conf").write_text(
        f"""
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log;
        events {{ worker_connections 64; }}
        http {{
            client_body_temp_path {tmp_path}/body;
            proxy_temp_path {tmp_path}/proxy;
            fastcgi_temp_path {tmp_path}/fastcgi;
            uwsgi_temp_path {tmp_path}/uwsgi;
            scgi_temp_path {tmp_path}/scgi;
            include {ROOT}/deploy/nginx-log.conf;
            access_log {log} vaxbook;
            server {{
                listen 127.0.0.1:{port};
                location / {{ return 204; }}
            }}
        }}
        """
    )
    nginx = [NGINX, "-p", f"{tmp_path}/", "-c", f"{tmp_path}/nginx.conf", "-e", f"{tmp_path}/e"]
    subprocess.run([*nginx, "-q", "-t"], check=True, timeout=30)  # noqa: S603
    subprocess.run(nginx, check=True, timeout=30)  # noqa: S603
    requests = [
        (f"/password-reset/MQ/{TOKEN}/", None),
        (f"/staff/set-password/Mg/{TOKEN}/?next=/staff/", None),
        ("/password-reset/MQ/set-password/", f"https://example.org/password-reset/MQ/{TOKEN}/"),
        ("/centres/12/", None),
    ]
    try:
        for path, referer in requests:
            headers = {"Referer": referer} if referer else {}
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            # nginx listens before it goes to the background: no waiting needed.
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                assert response.status == 204
    finally:
        subprocess.run([*nginx, "-s", "quit"], check=True, timeout=30)  # noqa: S603
        for _ in range(100):
            if not (tmp_path / "nginx.pid").exists():
                break
            time.sleep(0.1)

    lines = log.read_text().splitlines()
    assert len(lines) == len(requests)
    assert TOKEN not in log.read_text()
    assert '"GET /password-reset/MQ/[redacted]/ HTTP/1.1" 204' in lines[0]
    assert '"GET /staff/set-password/Mg/[redacted]/?next=/staff/ HTTP/1.1" 204' in lines[1]
    assert '"https://example.org/password-reset/MQ/[redacted]/"' in lines[2]
    assert '"GET /centres/12/ HTTP/1.1" 204' in lines[3]
