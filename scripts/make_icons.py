"""Draw the service's own icons (favicon, app icons) and their web manifest: a white house on the
service's colour, not the GOV.UK crown, which only GOV.UK may use.

Run from the repository's root: ``python scripts/make_icons.py``. It writes rcc/static/icons/;
the files are kept in git, so this runs only when the design changes. Plain Python, no imaging
library: each PNG is drawn pixel by pixel (four samples a pixel for smooth edges).
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

THEME_COLOUR = "#24434f"  # the service's own dark slate blue-green; GOV.UK blue (#1d70b8) is GOV.UK's
BACKGROUND = (0x24, 0x43, 0x4F)
WHITE = (0xFF, 0xFF, 0xFF)
OUT = Path(__file__).resolve().parent.parent / "rcc" / "static" / "icons"
SIZES = {"favicon-32.png": 32, "apple-touch-icon.png": 180, "icon-192.png": 192, "icon-512.png": 512}

# The house, on a 0..1 square: a roof (triangle) over a body (rectangle) with a door cut out.
ROOF = ((0.5, 0.18), (0.16, 0.5), (0.84, 0.5))
BODY = (0.26, 0.48, 0.74, 0.82)
DOOR = (0.44, 0.62, 0.56, 0.82)


def _in_triangle(x: float, y: float, a: tuple, b: tuple, c: tuple) -> bool:
    def side(p: tuple, q: tuple) -> float:
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    return not ((d1 < 0 or d2 < 0 or d3 < 0) and (d1 > 0 or d2 > 0 or d3 > 0))


def _in_box(x: float, y: float, box: tuple) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _is_house(x: float, y: float) -> bool:
    return (_in_triangle(x, y, *ROOF) or _in_box(x, y, BODY)) and not _in_box(x, y, DOOR)


def _png(size: int) -> bytes:
    rows = []
    for row in range(size):
        line = bytearray([0])  # no filter
        for column in range(size):
            samples = [(column + dx) / size for dx in (0.25, 0.75)]
            hits = sum(_is_house(x, (row + dy) / size) for x in samples for dy in (0.25, 0.75))
            share = hits / 4
            line.extend(round(b + (w - b) * share) for b, w in zip(BACKGROUND, WHITE, strict=True))
        rows.append(bytes(line))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def _svg() -> str:
    roof = " ".join(f"{x * 100:g},{y * 100:g}" for x, y in ROOF)
    body, door = ([round(v * 100) for v in box] for box in (BODY, DOOR))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
            f'<rect width="100" height="100" fill="{THEME_COLOUR}"/>'
            f'<polygon points="{roof}" fill="#fff"/>'
            f'<path d="M{body[0]} {body[1]}H{body[2]}V{body[3]}H{door[2]}V{door[1]}H{door[0]}V{door[3]}H{body[0]}Z" '
            f'fill="#fff"/></svg>\n')


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon.svg").write_text(_svg(), encoding="utf-8")
    for name, size in SIZES.items():
        (OUT / name).write_bytes(_png(size))
    manifest = {"name": "Regional Care Cooperative", "short_name": "RCC", "theme_color": THEME_COLOUR,
                "background_color": THEME_COLOUR, "display": "browser", "start_url": "/",
                "icons": [{"src": "icon.svg", "type": "image/svg+xml", "sizes": "any"},
                          {"src": "icon-192.png", "type": "image/png", "sizes": "192x192"},
                          {"src": "icon-512.png", "type": "image/png", "sizes": "512x512"}]}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
