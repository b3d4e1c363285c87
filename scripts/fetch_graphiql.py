"""Fetch GraphiQL's browser assets from the npm registry at install time (no Node needed).

Each package is pinned by version and by the registry's sha512 integrity of
its tarball; each file served is checked again against the sha384 integrity
that the GraphiQL page's <script>/<link> tags carry. The files land in
app/static/vendor/ (not committed); `make run` and `make test` call this, and
it does nothing when the files are already there and intact.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "app" / "static" / "vendor"
PACKAGES = {
    (
        "react",
        "18.2.0",
    ): "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
    (
        "react-dom",
        "18.2.0",
    ): "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
    (
        "js-cookie",
        "3.0.5",
    ): "sha512-cEiJEAEoIbWfCZYKWhVwFuvPX1gETRYPw6LlaTKoxD3s2AkXzkCjnp6h0V77ozyqj0jakteJ4YqDJT830+lVGw==",
    (
        "graphiql",
        "3.8.3",
    ): "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
    (
        "@graphiql/plugin-explorer",
        "1.0.2",
    ): "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
}
ASSET_RE = re.compile(
    r'(?:src|href)="https://unpkg\.com/((?:@[^/]+/)?[^@/]+)@([^/]+)/([^"]+)"\s+integrity="(sha384-[^"]+)"'
)


def sri(data: bytes, algorithm: str) -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def wanted_files() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(package, version) -> [(path in package, sha384 integrity)] from the page's tags."""
    files: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for package, version, path, integrity in ASSET_RE.findall(get_graphql_ide_html()):
        files.setdefault((package, version), []).append((path, integrity))
    return files


def fetch(package: str, version: str, integrity: str) -> tarfile.TarFile:
    name = package.rsplit("/", 1)[-1]
    url = f"{REGISTRY}/{package}/-/{name}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if sri(data, "sha512") != integrity:
        raise SystemExit(f"integrity mismatch for {package}@{version}: refusing to install it")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def main() -> int:
    files = wanted_files()
    missing_pins = set(files) - set(PACKAGES)
    if missing_pins:
        raise SystemExit(f"no pinned integrity for {sorted(missing_pins)}: update PACKAGES")
    for (package, version), paths in files.items():
        target = VENDOR / f"{package}@{version}"
        if all(
            (target / path).is_file() and sri((target / path).read_bytes(), "sha384") == integrity
            for path, integrity in paths
        ):
            continue
        archive = fetch(package, version, PACKAGES[(package, version)])
        for path, integrity in paths:
            member = archive.extractfile(f"package/{path}")
            if member is None:
                raise SystemExit(f"{package}@{version} has no {path}")
            data = member.read()
            if sri(data, "sha384") != integrity:
                raise SystemExit(f"{package}@{version}/{path} does not match the page's integrity")
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_bytes(data)
        print(f"fetched {package}@{version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
