"""The pages of the real-material set (make_real_set.py), one function per kind: printed
(magazine, book, old Russian, ultrasound, ECG, letterhead …), handwriting and forms, blank
and unreadable pages.
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from make_ocr_set import HAND_FONTS, cyrillic_hand_page, font, hand_page, translit, wrap
from page_effects import (A4, A4_LAND, A5, BLUE_INK, DPI, HALF, OLD, PT_SANS, PT_SANS_BOLD,
                          PT_SERIF, PT_SERIF_ITALIC, SANS, SERIFS, TYPEWRITERS, coloured,
                          dark_band, grain, halftone, hand_line, jpeg, multiply, punch_holes, scan,
                          scanner_border, smooth_field, stamp_and_sign, text_block)
from real_material import SPLITS, fit, photo

def header(d, split, x, y, size, english=False):
    name, addr = SPLITS[split]["clinic_en" if english else "clinic"]
    d.text((x, y), name, font=font(PT_SANS_BOLD, size), fill=0)
    d.text((x, y + int(size * 1.4)), addr, font=font(PT_SANS, int(size * 0.7)), fill=40)
    return y + int(size * 2.6)


def text_page(rng, split, size=A4, fnt=None, fs=44, paras=None, margin=200, lang=None,
              top=None):
    """A printed page of the split's paragraphs; returns (L image, truth)."""
    s = SPLITS[split]
    lang = lang or rng.choice(["ru", "ru", "en"])
    paras = paras or rng.sample(s[lang], min(len(s[lang]), rng.randint(3, 5)))
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    f = font(fnt or rng.choice(SERIFS + SANS), fs)
    truth = []
    text_block(d, (margin, top or margin, size[0] - margin, size[1] - margin), paras, f,
               fill=rng.randint(0, 30), truth=truth)
    return img, "\n".join(truth)


def magazine(rng, split, k):
    """A magazine page at 200 DPI: a title, a large photograph with a caption, two columns,
    and a black band along one edge where the scanner lid was open."""
    s = SPLITS[split]
    W, H = 1654, 2339
    img = Image.new("RGB", (W, H), (248, 247, 243))
    d = ImageDraw.Draw(img)
    m = 120
    truth = []
    d.text((m, 70), "ЗДОРОВЬЕ И ЖИЗНЬ  ·  № 3 · 2026" if split == "tuning" else
           "МЕДИЦИНА СЕГОДНЯ  ·  № 11 · 2026", font=font(PT_SANS, 26), fill=(90, 90, 90))
    d.line((m, 110, W - m, 110), fill=(150, 40, 40), width=4)
    lang = "en" if k == 2 else "ru"
    title = {"ru": ["Давление под контролем", "Что надо знать о диабете"],
             "en": ["Living well with a heart condition", "Sugar, sleep and your health"]}[lang]
    t = title[0 if split == "tuning" else 1]
    tf = font(PT_SANS_BOLD, 72)
    d.text((m, 150), t, font=tf, fill=(20, 20, 20))
    truth.append(t)
    ph_h = int(H * rng.uniform(0.32, 0.42))
    pic = fit(photo(s["photos"][k % len(s["photos"])]), (W - 2 * m, ph_h))
    img.paste(pic, (m, 270))
    cap = font(PT_SERIF_ITALIC, 26)
    y = 270 + ph_h + 16
    capt = ("Фото: архив редакции" if lang == "ru" else "Photo: the editors' archive")
    d.text((m, y), capt, font=cap, fill=(70, 70, 70))
    truth.append(capt)
    y += 60
    body = font(rng.choice([PT_SERIF, SERIFS[1]]), 29)
    paras = s[lang] * 2
    gutter = 50
    cw = (W - 2 * m - gutter) // 2
    lines = []
    for para in paras:
        lines += wrap(d, para, body, cw) + [""]
    per_col = (H - 110 - y) // int(29 * 1.4)
    for c in range(2):
        yy = y
        for line in lines[c * per_col:(c + 1) * per_col]:
            d.text((m + c * (cw + gutter), yy), line, font=body, fill=(15, 15, 15))
            if line:
                truth.append(line)
            yy += int(29 * 1.4)
    d.text((W // 2, H - 70), str(17 + k), font=font(PT_SANS, 26), fill=(60, 60, 60), anchor="mm")
    img = scan(rng, img, 200, src=200, skew=0.5, noise=4, blur=0.6)
    img = dark_band(rng, img, rng.choice(["left", "right", "bottom"]), rng.uniform(70, 190),
                    rng.uniform(15, 50))
    return jpeg(img, 200, 82), "\n".join(truth)


def book_page(rng, split, k, size=A5):
    """A book page (A5, 300 DPI) with a halftone illustration or a drawing beside the text,
    a caption under it, the text running on under both."""
    s = SPLITS[split]
    W, H = size
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    m = 170
    truth = []
    run = "Глава 4. Сердце и сосуды" if split == "tuning" else "Глава 7. Обмен веществ"
    d.text((m, 100), run, font=font(PT_SERIF_ITALIC, 34), fill=40)
    d.text((W - m, 100), str(60 + 3 * k), font=font(PT_SERIF, 34), fill=40, anchor="ra")
    truth.append(f"{run} {60 + 3 * k}")
    pw, ph = int((W - 2 * m) * rng.uniform(0.42, 0.52)), int(H * rng.uniform(0.25, 0.32))
    name = s["drawings"][k % len(s["drawings"])] if k % 2 == 0 else s["photos"][k % 3]
    src = photo(name, "L")
    if name in ("horse.png",):   # a drawing: a silhouette in black ink, as printed
        pic = fit(src, (pw, ph)).point(lambda v: 25 if v < 128 else 250)
    else:
        pic = halftone(fit(src, (pw, ph)), (pw, ph), rng.choice([5, 6, 7]), rng.choice([15, 45]))
    left = rng.random() < 0.5
    px = m if left else W - m - pw
    img.paste(pic, (px, 190))
    cap = f"Рис. {k + 3}." if split == "tuning" else f"Рис. {k + 11}."
    d.text((px, 190 + ph + 14), cap, font=font(PT_SERIF_ITALIC, 32), fill=30)
    f = font(rng.choice(SERIFS[:3]), 40)
    paras = rng.sample(s["ru"], 4)
    tx0, tx1 = (m + pw + 50, W - m) if left else (m, W - m - pw - 50)
    # the text beside the picture, then under it, as the book sets it
    y = 190
    words = " ".join(paras).split()
    while words and y < H - 180:
        beside = y < 190 + ph + 60
        x0, x1 = (tx0, tx1) if beside else (m, W - m)
        width = x1 - x0
        line = ""
        while words and d.textlength((line + " " + words[0]).strip(), font=f) <= width:
            line = (line + " " + words.pop(0)).strip()
        d.text((x0, y), line, font=f, fill=20)
        truth.append(line)
        y += int(40 * 1.45)
    if k == 2:
        truth.insert(1, cap)
    img = coloured(img, (25, 20, 15), paper=(246, 240, 226))
    img = scan(rng, img, 300, skew=0.6, noise=4, blur=0.5)
    return jpeg(img, 300, 85), "\n".join(truth)


def old_russian(rng, split, k):
    """Short lines of pre-1918 Russian in Old Standard from a 1900s book, binarised to 1 bit
    at 100–150 DPI. Returns (PIL 1-bit image, dpi, truth)."""
    s = SPLITS[split]
    col_w = rng.randint(900, 1250)
    paras = s["old"][k % 3:] + s["old"][:k % 3]
    if k % 3 != 2:
        paras = paras[:1 + k % 2]     # a few short lines, cut out of the page
    f = font(OLD, rng.choice([40, 44, 48]))
    probe = ImageDraw.Draw(Image.new("L", (10, 10)))
    lines = []
    for p in paras:
        lines += wrap(probe, p, f, col_w)
    m = rng.randint(40, 90) if k % 3 != 2 else 200
    H = m * 2 + int(len(lines) * f.size * 1.4) + (120 if k % 3 == 2 else 0)
    img = Image.new("L", (col_w + 2 * m, H), 255)
    d = ImageDraw.Draw(img)
    y = m
    if k % 3 == 2:
        d.text((img.width // 2, m - 100), f"— {41 + k} —", font=font(OLD, 36), fill=0,
               anchor="mm")
    for i, line in enumerate(lines):
        d.text((m + (f.size if i == 0 else 0), y), line, font=f, fill=0)
        y += int(f.size * 1.4)
    dpi = rng.choice([100, 120, 150])
    img = scan(rng, img, dpi, skew=1.0, noise=18, blur=0.9, shade=0.25)
    thr = rng.randint(120, 165)
    truth = "\n".join(lines if k % 3 != 2 else [f"— {41 + k} —"] + lines)
    return img.point(lambda v: 255 if v > thr else 0).convert("1"), dpi, truth


def border_holes_page(rng, split, k):
    """A photocopy scanned with its black frame and 2–4 punch holes. L image at 300 DPI."""
    size = A5 if k % 2 else HALF
    img, truth = text_page(rng, split, size=size, fs=rng.choice([38, 42, 46]), margin=230)
    img = scan(rng, img, 300, skew=0.8, noise=6, blur=0.6)
    img = scanner_border(rng, img)
    edge = "left" if size == A5 else rng.choice(["top", "left"])
    return punch_holes(rng, img, rng.choice([2, 3, 4]), edge, 300), truth


def lowres_page(rng, split, dpi, short):
    """A printed page scanned at dpi (60–150) as a JPEG: a short letter or a full page."""
    s = SPLITS[split]
    img = Image.new("L", A4, 255)
    d = ImageDraw.Draw(img)
    truth = []
    lang = rng.choice(["ru", "en"])
    y = 220
    if short:
        title = ("ЗАКЛЮЧЕНИЕ" if lang == "ru" else "CONCLUSION") + f" № {rng.randint(100, 999)}"
        d.text((220, y), title, font=font(PT_SANS, 50), fill=0)
        truth.append(title)
        y += 120
        paras = rng.sample(s[lang], 2)
    else:
        paras = s[lang]
    text_block(d, (220, y, A4[0] - 220, A4[1] - 250), paras,
               font(rng.choice(SANS + SERIFS), rng.choice([42, 46])), truth=truth)
    img = scan(rng, img, dpi, skew=0.5, noise=5, blur=0.4)
    return jpeg(img, dpi, rng.choice([55, 70, 85])), "\n".join(truth)


def epicrisis(rng, split, k):
    """A Russian epicrisis: text, the doctor's signature, the round blue stamp over the text."""
    s = SPLITS[split]
    img = Image.new("L", A4, 255)
    d = ImageDraw.Draw(img)
    truth = []
    y = header(d, split, 220, 180, 46)
    title = "ВЫПИСНОЙ ЭПИКРИЗ" if k % 2 == 0 else "КОНСУЛЬТАТИВНОЕ ЗАКЛЮЧЕНИЕ"
    d.text((A4[0] // 2, y + 60), title, font=font(PT_SANS_BOLD, 56), fill=0, anchor="mm")
    truth += list(s["clinic"]) + [title]
    f = font(rng.choice(SERIFS), 42)
    y = text_block(d, (220, y + 160, A4[0] - 220, A4[1] - 700), s["ru"], f, truth=truth)
    sign_y = y + 80
    for doctor, role in zip(rng.sample(s["doctors"], 2), ["Лечащий врач", "Заведующий отделением"]):
        line = f"{role}: ____________________ {doctor}"
        d.text((220, sign_y), line, font=f, fill=0)
        truth.append(line)
        sign_y += 130
    img = stamp_and_sign(rng, coloured(img, (10, 10, 10)), split,
                         (A4[0] // 2 - 300, y - 80, A4[0] - 400, y + 160))
    img = scan(rng, img, 200, skew=0.6, noise=4, blur=0.5)
    return jpeg(img, 200, 80), "\n".join(truth)


def ultrasound(rng, split, k):
    """An ultrasound printout: a header, the dark sector image (from a real photograph, as
    speckled echoes in a fan), its on-screen labels, the measurements and a conclusion."""
    s = SPLITS[split]
    title, lines = s["us"]
    img = Image.new("L", A4, 255)
    d = ImageDraw.Draw(img)
    truth = []
    y = header(d, split, 220, 160, 44)
    truth += list(s["clinic"])
    d.text((220, y + 30), title, font=font(PT_SANS_BOLD, 42), fill=0)
    truth.append(title)
    pid = f"Пациент: ID {rng.randint(10000, 99999)}   Дата: {rng.randint(10, 28)}.0{k + 2}.2026"
    d.text((220, y + 110), pid, font=font(PT_SANS, 40), fill=0)
    truth.append(pid)
    bw, bh = A4[0] - 440, int(A4[1] * rng.uniform(0.36, 0.42))
    bx, by = 220, y + 200
    box = Image.new("L", (bw, bh), 0)
    src = fit(photo(s["scans"][k % 2], "L"), (bw, bh))
    g = np.random.default_rng(rng.randint(0, 1 << 30))
    speck = g.rayleigh(0.6, (bh, bw)).astype(np.float32)
    echo = np.asarray(src, np.float32) * speck * 0.8
    yy, xx = np.mgrid[0:bh, 0:bw]
    apex = (bw / 2, -bh * 0.05)
    ang = np.degrees(np.arctan2(xx - apex[0], yy - apex[1]))
    rad = np.hypot(xx - apex[0], yy - apex[1])
    half = rng.uniform(30, 40)
    fan = (np.abs(ang) < half) & (rad > bh * 0.08) & (rad < bh * 0.95)
    echo = np.where(fan, echo * (1.1 - rad / bh * 0.5), 0)
    box = Image.fromarray(np.clip(echo, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.2))
    bd = ImageDraw.Draw(box)
    small = font("truetype/dejavu/DejaVuSansMono.ttf", 28)
    for i, lab in enumerate([f"GAIN {rng.randint(40, 70)}", f"DR {rng.randint(55, 75)}",
                             f"FR {rng.randint(18, 35)}Hz", "7.5MHz" if split == "tuning" else
                             "C3.5"]):
        bd.text((20, 20 + 36 * i), lab, font=small, fill=230)
    for i in range(9):
        bd.line((bw - 40, 80 + i * (bh - 160) / 8, bw - 25, 80 + i * (bh - 160) / 8), fill=220,
                width=3)
    bd.text((bw - 160, bh - 60), f"D {rng.randint(4, 16)}.{rng.randint(0, 9)} cm", font=small,
            fill=230)
    img.paste(box, (bx, by))
    f = font(rng.choice(SANS), 42)
    text_block(d, (220, by + bh + 80, A4[0] - 220, A4[1] - 200), lines, f, lead=1.5, gap=0,
               truth=truth)
    img = scan(rng, img, 200, skew=0.5, noise=4, blur=0.5)
    return jpeg(img, 200, 82), "\n".join(truth)


def ecg_wave(t, rr):
    """One ECG lead in mV at times t (s): P, Q, R, S, T as Gaussians each beat."""
    ph = np.mod(t, rr)
    def g(c, w, a):
        return a * np.exp(-((ph - c) / w) ** 2)
    return (g(0.16, 0.025, 0.15) + g(0.245, 0.008, -0.12) + g(0.27, 0.010, 1.1) +
            g(0.295, 0.009, -0.3) + g(0.52, 0.045, 0.3))


def ecg(rng, split, k):
    """An ECG printout: a header, four rows of traces on the red millimetre grid, the
    measurements and the conclusion. A4 landscape at 150 DPI."""
    s = SPLITS[split]
    title, lines, hr = s["ecg"]
    W, H = A4_LAND
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    mm = DPI / 25.4
    gx0, gy0, gx1, gy1 = 150, 430, W - 150, H - 180
    for i in range(int((gx1 - gx0) / mm) + 1):
        x = gx0 + i * mm
        d.line((x, gy0, x, gy1), fill=(238, 150, 150) if i % 5 == 0 else (250, 214, 214),
               width=3 if i % 5 == 0 else 1)
    for i in range(int((gy1 - gy0) / mm) + 1):
        y = gy0 + i * mm
        d.line((gx0, y, gx1, y), fill=(238, 150, 150) if i % 5 == 0 else (250, 214, 214),
               width=3 if i % 5 == 0 else 1)
    truth = []
    d.text((150, 120), title, font=font(PT_SANS_BOLD, 48), fill=(0, 0, 0))
    truth.append(title)
    f = font(PT_SANS, 42)
    text_block(d, (150, 200, W - 150, gy0 - 20), lines, f, lead=1.35, gap=0, truth=truth)
    rr = 60 / (hr + rng.uniform(-4, 4))
    leads = [["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"],
             ["II"]]
    row_h = (gy1 - gy0) / 4
    lf = font(PT_SANS, 36)
    g = np.random.default_rng(rng.randint(0, 1 << 30))
    for r, row in enumerate(leads):
        base_y = gy0 + row_h * (r + 0.6)
        seg = (gx1 - gx0) / len(row)
        for c, name in enumerate(row):
            xs = np.arange(int(gx0 + c * seg + 10), int(gx0 + (c + 1) * seg - 10))
            t = (xs - gx0) / (25 * mm) + r * 0.13
            gain = {"aVR": -0.6, "III": 0.5, "V1": -0.7, "V2": 0.4}.get(name, 1.0)
            v = ecg_wave(t, rr) * gain + g.normal(0, 0.01, t.shape)
            ys = base_y - v * 10 * mm
            d.line(list(zip(xs.tolist(), ys.tolist())), fill=(10, 10, 10), width=4)
            d.text((xs[0] + 10, base_y - row_h * 0.45), name, font=lf, fill=(0, 0, 0))
    img = img.resize((W // 2, H // 2), Image.LANCZOS)
    img = scan(rng, img, 150, src=150, skew=0.4, noise=3, blur=0.4)
    return jpeg(img, 150, 85), "\n".join(truth)


def letterhead_table(rng, split, k, rotate=0):
    """A laboratory's letterhead with its logo, and a ruled table of results with Latin
    abbreviations and units (WBC, ×10^9/L)."""
    s = SPLITS[split]
    english = k % 3 == 2
    img = Image.new("RGB", A4, (255, 255, 255))
    d = ImageDraw.Draw(img)
    logo = fit(photo(s["logos"][0]), (300, 300))
    img.paste(logo, (220, 150))
    truth = []
    name, addr = s["clinic_en" if english else "clinic"]
    d.text((580, 190), name, font=font(PT_SANS_BOLD, 54), fill=(20, 40, 110))
    d.text((580, 280), addr, font=font(PT_SANS, 36), fill=(60, 60, 60))
    truth += [name, addr]
    d.line((220, 490, A4[0] - 220, 490), fill=(20, 40, 110), width=6)
    title = s["lab_title"][1 if english else 0]
    d.text((A4[0] // 2, 600), title, font=font(PT_SANS_BOLD, 54), fill=(0, 0, 0), anchor="mm")
    truth.append(title)
    pid = (f"Patient ID {rng.randint(10000, 99999)}    Sample {rng.randint(1000, 9999)}" if english
           else f"Пациент ID {rng.randint(10000, 99999)}    Проба № {rng.randint(1000, 9999)}")
    d.text((220, 700), pid, font=font(PT_SANS, 40), fill=(0, 0, 0))
    truth.append(pid)
    head = (["Test", "Result", "Units", "Reference"] if english else
            ["Показатель", "Результат", "Ед. изм.", "Норма"])
    cols = [220, 900, 1350, 1820, A4[0] - 220]
    rows = [head] + [list(r) for r in s["lab"]]
    f = font(rng.choice(SANS + SERIFS[:2]), 40)
    fb = font(PT_SANS_BOLD, 40)
    y0, rh = 820, 96
    for i, row in enumerate(rows):
        y = y0 + i * rh
        if i == 0:
            d.rectangle((cols[0], y, cols[-1], y + rh), fill=(225, 230, 240))
        for c, cell in enumerate(row):
            d.text((cols[c] + 24, y + rh // 2), cell, font=fb if i == 0 else f, fill=(0, 0, 0),
                   anchor="lm")
        truth.append(" ".join(row))
    for i in range(len(rows) + 1):
        d.line((cols[0], y0 + i * rh, cols[-1], y0 + i * rh), fill=(0, 0, 0), width=3)
    for x in cols:
        d.line((x, y0, x, y0 + len(rows) * rh), fill=(0, 0, 0), width=3)
    y = y0 + len(rows) * rh + 100
    sig = ("Laboratory physician: " if english else "Врач КДЛ: ") + s["doctors"][k % 3]
    d.text((220, y), sig, font=f, fill=(0, 0, 0))
    truth.append(sig)
    img = scan(rng, img, 200, skew=0.5, noise=3, blur=0.4)
    if rotate:
        img = img.rotate(-rotate, expand=True)
    return jpeg(img, 200, 85), "\n".join(truth)


def typewriter_page(rng, split, fp, size=HALF, lang=None):
    """A typewritten page: each letter struck a little off the line and with its own ink."""
    s = SPLITS[split]
    W, H = size
    img = Image.new("L", (W, H), 255)
    fs = 44
    f = font(fp, fs)
    m = 200
    lang = lang or ("en" if fp == TYPEWRITERS[0] and rng.random() < 0.5 else "ru")
    d = ImageDraw.Draw(img)
    truth = []
    y = m
    adv = f.getlength("n")
    cols = int((W - 2 * m) / adv)
    for para in rng.sample(s[lang], 3):
        line = ""
        out = []
        for word in para.split():
            if len(line) + 1 + len(word) > cols:
                out.append(line)
                line = word
            else:
                line = (line + " " + word).strip()
        out.append(line)
        for ln in out:
            if y + fs * 2 > H - m:
                break
            x = m
            for ch in ln:
                ink = rng.randint(0, 70) if rng.random() > 0.08 else rng.randint(90, 140)
                d.text((x + rng.uniform(-1, 1), y + rng.uniform(-2.5, 2.5)), ch, font=f,
                       fill=ink)
                x += adv
            truth.append(ln)
            y += int(fs * 1.6)
        y += int(fs * 0.8)
    return img, "\n".join(truth)


# ---------------------------------------------------------------- handwriting and forms

def hand_base(rng, split, k, size=HALF, fs=None):
    """Handwriting on white paper (L): a Latin handwriting font (English, or Russian
    transliterated) or, every fifth page, the Cyrillic imitation of make_ocr_set.py."""
    s = SPLITS[split]
    if k % 5 == 4:
        return cyrillic_hand_page(rng, rng.sample(s["ru"], 2), fs or rng.choice([60, 64, 70]),
                                  page=size)
    hf = HAND_FONTS[k % len(HAND_FONTS)]
    paras = rng.sample(s["en"], 2) if k % 2 else [translit(p) for p in rng.sample(s["ru"], 2)]
    return hand_page(rng, paras, hf, fs or rng.choice([64, 72, 80]), page=size)


def form(rng, split, k, hand_font, size=HALF, logo=False):
    """A printed form (title, labelled fields, rules) filled in by hand. L image."""
    s = SPLITS[split]
    title, fields, fills = s["forms"][k % len(s["forms"])]
    W, H = size
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    x0 = 160
    if logo:
        lg = fit(photo(s["logos"][0], "L"), (220, 220))
        img.paste(lg, (W - 160 - 220, 60))
    f = font(rng.choice(SANS), 44)
    d.text((x0, 110), title, font=font(PT_SANS_BOLD, 54), fill=0)
    y = 280
    step = (H - 380) // len(fields)
    ink = rng.randint(20, 70)
    for label, value in zip(fields, fills):
        d.text((x0, y), label + ":", font=f, fill=0)
        lx = x0 + d.textlength(label + ":", font=f) + 40
        d.line((lx, y + 58, W - 160, y + 58), fill=0, width=3)
        if rng.random() < 0.92:     # a field or two may be left empty
            hand_line(rng, img, max(lx, x0 + 650) + rng.randint(0, 60), y - 30, value, hand_font,
                      rng.choice([62, 70, 76]), ink)
        y += step
    return img


def with_notes(rng, split, k, hand_font):
    """A printed page with a handwritten addition under the text."""
    s = SPLITS[split]
    img, _ = text_page(rng, split, size=HALF, fs=40, paras=rng.sample(s["ru"], 2), margin=160)
    # find where the print ends
    rows = np.where(np.asarray(img).min(axis=1) < 128)[0]
    y = (rows.max() if len(rows) else 600) + 80
    ink = rng.randint(20, 70)
    for note in rng.sample(s["notes"], 2):
        if y > HALF[1] - 200:
            break
        hand_line(rng, img, 200 + rng.randint(0, 80), y, note, hand_font, rng.choice([66, 74]),
                  ink)
        y += 130
    return img


def blue(rng, img_l):
    """Ballpoint-blue writing on white paper, print stays black where the page is mixed."""
    return coloured(img_l, rng.choice(BLUE_INK))


# ---------------------------------------------------------------- blank and unreadable

def blank(rng, split, kind, size=HALF):
    g = np.random.default_rng(rng.randint(0, 1 << 30))
    W, H = size
    if kind == "white":
        a = np.full((H, W), rng.uniform(246, 255), np.float32) + grain(rng, (H, W),
                                                                       rng.uniform(0, 2))
    elif kind == "noise":
        a = np.full((H, W), 248, np.float32) + grain(rng, (H, W), rng.uniform(4, 10))
        for _ in range(rng.randint(20, 80)):  # dust and specks
            y, x = g.integers(0, H - 5), g.integers(0, W - 5)
            a[y:y + g.integers(2, 5), x:x + g.integers(2, 5)] = rng.randint(40, 120)
    elif kind == "show-through":  # the other side's print or writing, mirrored and faint
        if rng.random() < 0.5:
            back, _ = text_page(rng, split, size=size, fs=44, margin=180)
        else:
            back = hand_base(rng, split, rng.randint(0, 9), size=size)
        back = np.asarray(back.transpose(Image.FLIP_LEFT_RIGHT).filter(
            ImageFilter.GaussianBlur(rng.uniform(1, 2.5))), np.float32)
        a = 248 - (255 - back) * rng.uniform(0.06, 0.14) + grain(rng, (H, W), 3)
    else:  # grey or recycled paper, unevenly lit
        a = rng.uniform(200, 235) * smooth_field(rng, size, 2, 0.9, 1.0) + grain(rng, (H, W), 3)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def too_dark(rng, img):
    """An underexposed photo: the page a few grey levels above black, shaken (a long exposure
    in a dim room), drowned in the sensor's noise; nothing left to read even when brightened."""
    img = img.convert("L").filter(ImageFilter.GaussianBlur(rng.uniform(2.5, 3.5)))
    a = np.asarray(img, np.float32)
    a = a * rng.uniform(0.02, 0.03) + rng.uniform(1, 4)
    a += grain(rng, a.shape, rng.uniform(3, 4))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def letterhead_note(split, hand):
    """A clinic's letterhead (logo, name, a rule) over handwriting; hand(size) writes it."""
    s = SPLITS[split]
    W, H = A5
    page = Image.new("L", (W, H), 255)
    page.paste(fit(photo(s["logos"][0], "L"), (200, 200)), (150, 110))
    d = ImageDraw.Draw(page)
    d.text((390, 170), s["clinic"][0], font=font(PT_SANS_BOLD, 40), fill=0)
    d.line((150, 350, W - 150, 350), fill=0, width=4)
    page.paste(hand(size=(W, H - 380)), (0, 380))
    return page


def two_inks(rng, img_l):
    """A grey form (L) in two inks: print black, handwriting ballpoint blue. The form's rules
    and labels are pure black (0), the handwriting never is."""
    a = np.asarray(img_l)
    printed = Image.fromarray(np.where(a < 8, 0, 255).astype(np.uint8))
    written = Image.fromarray(np.where(a < 8, 255, a).astype(np.uint8))
    return multiply(coloured(printed, (0, 0, 0)), Image.eval(written, lambda v: 255 - v),
                    rng.choice(BLUE_INK))
