#!/usr/bin/python3
# impcore - check an SVG picture of ours (issue 16): well-formed XML, pure SVG
# (no scripts, no external fonts, images or links), under a size limit, and
# rendered by a real browser (headless Chromium) into a PNG that is not
# blank: enough non-white pixels, some in the colour of the measured points.
# usage: svgcheck.py FILE.svg MAXBYTES [WIDTH HEIGHT] ; exit 0 ok, 1 bad,
# 77 no chromium.
import os, shutil, struct, subprocess, sys, tempfile, zlib
import xml.etree.ElementTree as ET

def png_pixels(path):
    """Decode an 8-bit RGB(A) non-interlaced PNG: (width, height, rows)."""
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat, w = 8, b'', None
    while pos < len(data):
        n, typ = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b'IHDR':
            w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', body)
            assert depth == 8 and ctype in (2, 6) and inter == 0, 'PNG kind'
            bpp = 3 if ctype == 2 else 4
        elif typ == b'IDAT':
            idat += body
        pos += 12 + n
    raw, rows, prev, stride = zlib.decompress(idat), [], None, w * bpp
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        prev = prev or bytearray(stride)
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows

def main():
    svg, maxb = sys.argv[1], int(sys.argv[2])
    size = os.path.getsize(svg)
    text = open(svg, encoding='utf-8').read()
    root = ET.fromstring(text.encode())
    assert root.tag == '{http://www.w3.org/2000/svg}svg', 'root is not svg'
    for bad in ('<script', 'href', '@font-face', 'url(http', '<image', '<foreignObject', 'onload'):
        assert bad not in text, 'forbidden: ' + bad
    assert size <= maxb, 'size %d > %d' % (size, maxb)
    print('ok: %s: well-formed SVG, %d bytes' % (svg, size))
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if chromium is None:
        print('SKIP: no chromium')
        sys.exit(77)
    w = sys.argv[3] if len(sys.argv) > 3 else root.get('width')
    h = sys.argv[4] if len(sys.argv) > 4 else root.get('height')
    d = tempfile.mkdtemp(prefix='svgcheck.')
    try:
        png = os.path.join(d, 'out.png')
        subprocess.run([chromium, '--headless', '--no-sandbox', '--disable-gpu',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--user-data-dir=' + d + '/prof',
            '--window-size=%s,%s' % (w, h), '--screenshot=' + png,
            'file://' + os.path.abspath(svg)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=240, check=False)
        assert os.path.exists(png), 'chromium wrote no PNG'
        pw, ph, rows = png_pixels(png)
        dark = sum(1 for r in rows for p in r if sum(p) < 600)
        blue = sum(1 for r in rows for p in r if p[2] > 150 and p[0] < 90 and p[1] < 160)
        print('ok: rendered %dx%d: %d non-white pixels, %d of the points\' blue' % (pw, ph, dark, blue))
        assert dark > 0.01 * pw * ph, 'blank picture: %d non-white pixels' % dark
        assert blue > 50, 'no measured points drawn'
        if os.environ.get('SVGCHECK_KEEP'):
            shutil.copy(png, os.environ['SVGCHECK_KEEP'])
    finally:
        shutil.rmtree(d, ignore_errors=True)

try:
    main()
except AssertionError as e:
    print('FAIL: %s' % e)
    sys.exit(1)
