"""What happens to paper on its way to an upload, for the real-material set (make_real_set.py):
ink and stamps, scanners (skew, noise, black borders, punch holes), phone photos on a
tablecloth, carbon copies, halftones, blur; and the files it ends in (JPEG, img2pdf PDFs).
"""
import io
import math
import os

import img2pdf
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from make_ocr_set import find_coeffs, font, wrap
from real_material import SKIMAGE, SPLITS, photo

DPI = 300
A4 = (2480, 3508)          # portrait, 300 DPI
A5 = (1748, 2480)
HALF = (2480, 1754)        # half an A4 sheet, landscape, as in make_ocr_set.py
A4_LAND = (3508, 2480)

OLD = "truetype/fonts-oldstandard/OldStandard-Regular.ttf"
TYPEWRITERS = ["truetype/gnutypewriter/GNUTypewriter.ttf", "truetype/cmu/cmuntt.ttf",
               "truetype/paratype/PTM55F.ttf"]
PT_SERIF = "truetype/paratype/PTF55F.ttf"
PT_SERIF_ITALIC = "truetype/paratype/PTF56F.ttf"
PT_SANS = "truetype/paratype/PTS55F.ttf"
PT_SANS_BOLD = "truetype/paratype/PTS75F.ttf"
SERIFS = [PT_SERIF, "truetype/liberation/LiberationSerif-Regular.ttf",
          "truetype/dejavu/DejaVuSerif.ttf", "truetype/freefont/FreeSerif.ttf"]
SANS = [PT_SANS, "truetype/liberation/LiberationSans-Regular.ttf",
        "truetype/dejavu/DejaVuSans.ttf"]
BOLD = "truetype/dejavu/DejaVuSans-Bold.ttf"
PAPER = (250, 249, 246)
BLUE_INK = [(28, 48, 150), (35, 40, 120), (20, 70, 170)]
STAMP_INK = [(50, 70, 190), (70, 60, 170), (40, 90, 200)]


def text_block(d, box, paras, fnt, fill=0, lead=1.42, gap=0.5, truth=None):
    """Paragraphs wrapped into box (x0, y0, x1, y1); returns the y below them."""
    x0, y, x1, y1 = box
    size = fnt.size
    for para in paras:
        for line in wrap(d, para, fnt, x1 - x0):
            if y + size * 1.3 > y1:
                return y
            d.text((x0, y), line, font=fnt, fill=fill)
            if truth is not None:
                truth.append(line)
            y += int(size * lead)
        y += int(size * gap)
    return y


def hand_line(rng, img, x, y, text, font_path, size, ink):
    """One line written by hand onto img (L): words tilted, resized and off the baseline."""
    d = ImageDraw.Draw(img)
    for word in text.split():
        s = int(size * rng.uniform(0.88, 1.12))
        f = font(font_path, s)
        wlen = int(d.textlength(word, font=f)) + 20
        tile = Image.new("L", (wlen + 40, int(s * 2)), 0)
        ImageDraw.Draw(tile).text((20, s // 4), word, font=f, fill=255)
        tile = tile.rotate(rng.uniform(-5, 5), resample=Image.BICUBIC, expand=True)
        img.paste(ink, (int(x), int(y + rng.randint(-8, 8))), tile)
        x += wlen + rng.randint(-6, 20)
    return x


def coloured(img_l, ink, paper=PAPER):
    """A grey page (white paper, dark ink) as RGB with the given ink and paper colours."""
    a = 1 - np.asarray(img_l, np.float32)[..., None] / 255
    out = np.array(paper, np.float32) * (1 - a) + np.array(ink, np.float32) * a
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def multiply(img, mask, colour, strength=1.0):
    """Ink of `colour` laid over img where mask (L, 0–255) says, the way ink darkens paper."""
    a = np.asarray(img.convert("RGB"), np.float32)
    m = np.asarray(mask, np.float32)[..., None] / 255 * strength
    c = np.array(colour, np.float32) / 255
    return Image.fromarray(np.clip(a * (1 - m * (1 - c)), 0, 255).astype(np.uint8))


def smooth_field(rng, size, cells, lo, hi):
    """A smooth random field in [lo, hi] of the given size: uneven ink, uneven light."""
    g = np.random.default_rng(rng.randint(0, 1 << 30))
    small = Image.fromarray((g.uniform(0, 255, (cells, cells))).astype(np.uint8))
    f = np.asarray(small.resize(size, Image.BICUBIC), np.float32) / 255
    return lo + (hi - lo) * f


def stamp_mask(rng, r, ring_text, centre):
    """A round stamp (L mask, 255 = ink): two rings, capitals round the ring, a centre."""
    s = 2 * r + 40
    m = Image.new("L", (s, s), 0)
    d = ImageDraw.Draw(m)
    c = s // 2
    d.ellipse((c - r, c - r, c + r, c + r), outline=255, width=max(4, r // 26))
    ri = int(r * 0.70)
    d.ellipse((c - ri, c - ri, c + ri, c + ri), outline=255, width=max(3, r // 45))
    fs = int((r - ri) * 0.62)
    f = font(BOLD, fs)
    rt = (r + ri) / 2
    for i, ch in enumerate(ring_text):
        a = 2 * math.pi * i / len(ring_text)
        tile = Image.new("L", (fs * 2, fs * 2), 0)
        ImageDraw.Draw(tile).text((fs, fs), ch, font=f, fill=255, anchor="mm")
        tile = tile.rotate(-math.degrees(a), resample=Image.BICUBIC)
        m.paste(255, (int(c + rt * math.sin(a) - fs), int(c - rt * math.cos(a) - fs)), tile)
    fc = font(BOLD, int(fs * 0.9))
    for k, line in enumerate(centre):
        d.text((c, c + (k - (len(centre) - 1) / 2) * fs * 1.25), line, font=fc, fill=255,
               anchor="mm")
    m = m.rotate(rng.uniform(0, 360), resample=Image.BICUBIC)
    uneven = smooth_field(rng, (s, s), 7, 0.35, 1.0)
    return Image.fromarray((np.asarray(m, np.float32) * uneven).astype(np.uint8))


def signature_mask(rng, size, w, h):
    """A handwritten signature: one looping stroke (L mask, 255 = ink)."""
    m = Image.new("L", size, 0)
    d = ImageDraw.Draw(m)
    f1, f2, f3 = rng.uniform(14, 24), rng.uniform(8, 15), rng.uniform(2, 5)
    pts = []
    for i in range(160):
        t = i / 159
        pts.append((w * t + w * 0.12 * math.sin(t * f1),
                    h * 0.5 + h * 0.4 * math.sin(t * f2) * math.cos(t * f3) - h * 0.3 * t))
    d.line(pts, fill=255, width=max(3, h // 30))
    d.line([(w * 0.1, h * 0.9), (w * 0.8, h * 0.75)], fill=255, width=max(3, h // 35))
    return m


def stamp_and_sign(rng, img, split, box):
    """A doctor's signature and the clinic's round blue stamp over img (RGB) inside box."""
    x0, y0, x1, y1 = box
    w = img.width
    sig = Image.new("L", img.size, 0)
    sw, sh = int(w * 0.22), int(w * 0.08)
    sx, sy = rng.randint(x0, max(x0, x1 - sw)), rng.randint(y0, max(y0, y1 - sh))
    sig.paste(signature_mask(rng, (sw, sh), sw, sh), (sx, sy))
    img = multiply(img, sig, rng.choice(BLUE_INK), 0.95)
    r = int(w * rng.uniform(0.075, 0.095))
    ring, centre = SPLITS[split]["stamp"]
    st = stamp_mask(rng, r, ring, centre)
    full = Image.new("L", img.size, 0)
    full.paste(st, (int(sx + sw * rng.uniform(-0.4, 0.5) - r), int(sy + sh / 2 - r +
                                                                     rng.randint(-r // 2, r // 2))))
    return multiply(img, full, rng.choice(STAMP_INK), rng.uniform(0.65, 0.9))


def dark_band(rng, img, edge, width, soft):
    """Black along one edge where the scanner glass saw no paper (the lid was open)."""
    w, h = img.size
    n = h if edge in ("left", "right") else w
    a, b = width * rng.uniform(0.6, 1.0), width * rng.uniform(0.6, 1.0)   # a wedge: skewed
    t = np.linspace(0, 1, n)
    depth = a + (b - a) * t + width * 0.05 * np.sin(t * rng.uniform(3, 9))
    if edge in ("left", "right"):
        pos = np.arange(w)[None, :] if edge == "left" else (w - 1 - np.arange(w))[None, :]
        dist = pos - depth[:, None]
    else:
        pos = np.arange(h)[:, None] if edge == "top" else (h - 1 - np.arange(h))[:, None]
        dist = pos - depth[None, :]
    # 0 inside the band, 1 on the paper, a soft edge between
    k = np.clip(dist / max(soft, 1) + 0.5, 0, 1).astype(np.float32)
    black = rng.uniform(8, 35) + grain(rng, k.shape, 4)
    a = np.asarray(img, np.float32)
    if a.ndim == 3:
        k, black = k[..., None], black[..., None]
    return Image.fromarray(np.clip(a * k + black * (1 - k), 0, 255).astype(np.uint8))


def scanner_border(rng, img):
    """A photocopy's black frame: uneven black bands on three or four edges."""
    w = img.width
    edges = ["left", "right", "top", "bottom"]
    if rng.random() < 0.4:
        edges.remove(rng.choice(edges))
    for e in edges:
        img = dark_band(rng, img, e, w * rng.uniform(0.012, 0.04), rng.uniform(2, 6))
    return img


def punch_holes(rng, img, n, edge, dpi, dark=True):
    """n holes of 6 mm, 12 mm from the edge: black on a black-lid scan, else grey-rimmed."""
    w, h = img.size
    mm = dpi / 25.4
    r, off = 3 * mm, 12 * mm + rng.uniform(-2, 2) * mm
    length = h if edge in ("left", "right") else w
    span = min(80 * mm * (n - 1), length * 0.8)
    start = (length - span) / 2 + rng.uniform(-5, 5) * mm
    d = ImageDraw.Draw(img)
    rgb = img.mode == "RGB"
    for k in range(n):
        p = start + span * k / (n - 1)
        cx, cy = {"left": (off, p), "right": (w - off, p), "top": (p, off),
                  "bottom": (p, h - off)}[edge]
        v = rng.randint(10, 40) if dark else rng.randint(200, 225)
        fill = (v, v, v) if rgb else v
        rim = (120, 120, 120) if rgb else 120
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=rim,
                  width=max(1, int(mm * 0.3)))
    return img


def grain(rng, shape, sigma):
    """Gaussian noise of the given sigma; in brightness only for a colour image."""
    g = np.random.default_rng(rng.randint(0, 1 << 30))
    n = g.standard_normal(shape[:2], dtype=np.float32) * np.float32(sigma)
    return n[..., None] if len(shape) == 3 else n


def scan(rng, img, dpi, src=DPI, skew=0.7, noise=5.0, blur=0.5, shade=0.08):
    """A flatbed scan of img (drawn at src DPI): a slight skew, optics' blur (radius at src
    DPI), at dpi, uneven light, sensor noise."""
    fill = (255, 255, 255) if img.mode == "RGB" else 255
    if dpi != src:
        img = img.resize((round(img.width * dpi / src), round(img.height * dpi / src)),
                         Image.LANCZOS)
    if skew:
        img = img.rotate(rng.uniform(-skew, skew), resample=Image.BICUBIC, fillcolor=fill)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur * dpi / src))
    a = np.asarray(img, np.float32)
    if shade:
        light = smooth_field(rng, (a.shape[1], a.shape[0]), 2, 1 - shade, 1.0)
        a = a * (light[..., None] if a.ndim == 3 else light)
    if noise:
        a = a + grain(rng, a.shape, noise)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def halftone(img, size, cell, angle):
    """A printed halftone: img (L) as dots on a screen turned by angle degrees."""
    g = np.asarray(img.convert("L").resize(size, Image.LANCZOS), np.float32) / 255
    yy, xx = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
    a = math.radians(angle)
    u = (xx * math.cos(a) + yy * math.sin(a)) * 2 * math.pi / cell
    v = (-xx * math.sin(a) + yy * math.cos(a)) * 2 * math.pi / cell
    t = 0.5 + 0.25 * (np.cos(u) + np.cos(v))
    return Image.fromarray(np.where(1 - g > t, 20, 250).astype(np.uint8))


def motion_blur(img, length, angle):
    a = np.asarray(img, np.float32)
    pad = length + 2
    p = np.pad(a, ((pad, pad), (pad, pad)) + ((0, 0),) * (a.ndim - 2), mode="edge")
    acc = np.zeros_like(a)
    h, w = a.shape[:2]
    for k in range(length):
        dx = int(round((k - length / 2) * math.cos(math.radians(angle))))
        dy = int(round((k - length / 2) * math.sin(math.radians(angle))))
        acc += p[pad + dy:pad + dy + h, pad + dx:pad + dx + w]
    return Image.fromarray(np.clip(acc / length, 0, 255).astype(np.uint8))


def tablecloth(rng, split, size):
    """A patterned tablecloth filling size, from one of the split's textures, tinted."""
    name = rng.choice(SPLITS[split]["cloths"])
    tex = photo(name, "RGB")
    s = rng.uniform(1.2, 2.2)
    tex = tex.resize((int(tex.width * s), int(tex.height * s)), Image.BICUBIC)
    cloth = Image.new("RGB", size)
    for y in range(0, size[1], tex.height):
        for x in range(0, size[0], tex.width):
            cloth.paste(tex if (x // tex.width + y // tex.height) % 2 == 0 else
                        tex.transpose(Image.FLIP_LEFT_RIGHT), (x, y))
    if Image.open(os.path.join(SKIMAGE, name)).mode == "L":
        tint = rng.choice([(200, 90, 80), (90, 140, 90), (120, 120, 190), (200, 170, 110)])
        a = np.asarray(cloth, np.float32) / 255
        cloth = Image.fromarray(np.clip(a * np.array(tint) * 1.1, 0, 255).astype(np.uint8))
    return cloth


def phone_photo(rng, split, page, frame=(1944, 2592), fill=0.8, tilt=0.10, blur=0.9,
                light=0.3, dark=1.0):
    """A phone photo of page lying on a tablecloth, taken at an angle: perspective, uneven
    light, camera noise. Returns RGB."""
    page = page.convert("RGB")
    fw, fh = frame
    cloth = tablecloth(rng, split, frame)
    pw, ph = page.size
    s = min(fw * fill / pw, fh * fill / ph)
    w, h = pw * s, ph * s
    cx, cy = fw / 2 + rng.uniform(-0.05, 0.05) * fw, fh / 2 + rng.uniform(-0.04, 0.04) * fh
    narrow = w * tilt * rng.uniform(0.6, 1.2)  # the far edge looks shorter
    quad = [(cx - w / 2 + narrow, cy - h / 2), (cx + w / 2 - narrow, cy - h / 2),
            (cx + w / 2, cy + h / 2), (cx - w / 2, cy + h / 2)]
    turn = math.radians(rng.uniform(-7, 7))
    quad = [(cx + (x - cx) * math.cos(turn) - (y - cy) * math.sin(turn) + rng.uniform(-15, 15),
             cy + (x - cx) * math.sin(turn) + (y - cy) * math.cos(turn) + rng.uniform(-15, 15))
            for x, y in quad]
    coeffs = find_coeffs([(0, 0), (pw, 0), (pw, ph), (0, ph)], quad)
    warped = page.transform(frame, Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    mask = Image.new("L", page.size, 255).transform(frame, Image.PERSPECTIVE, coeffs,
                                                    Image.BICUBIC)
    shadow = mask.filter(ImageFilter.GaussianBlur(25))
    cloth = multiply(cloth, ImageChops.offset(shadow, 18, 22), (40, 40, 40), 0.6)
    img = Image.composite(warped, cloth, mask)
    a = np.asarray(img, np.float32)
    lit = smooth_field(rng, frame, 3, 1 - light, 1.0) * dark
    a = a * lit[..., None] * np.array([1.0, 0.97, 0.9])  # warm room light
    a += grain(rng, a.shape, 4)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


def carbon(rng, img_l, blur=None):
    """A carbon copy of img (L): violet-blue, low contrast, soft, on thin grey paper."""
    soft = img_l.filter(ImageFilter.GaussianBlur(blur or rng.uniform(1.0, 1.6)))
    ink = rng.choice([(95, 95, 170), (110, 100, 175), (80, 105, 165)])
    img = coloured(soft, ink, paper=(236, 236, 232))
    a = np.asarray(img, np.float32)
    a = 236 - (236 - a) * rng.uniform(0.55, 0.75)   # low contrast: faint ink
    a += grain(rng, a.shape, 3)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def jpeg(img, dpi, quality=80):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    return buf.getvalue()


def pdf_of(image_bytes):
    """A one-page PDF of the image as it is (img2pdf: no re-encoding, the image's DPI). The
    internal engine, not pikepdf: pikepdf gives each PDF a random /ID."""
    return img2pdf.convert(image_bytes, nodate=True, engine=img2pdf.Engine.internal)
