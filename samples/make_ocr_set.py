#!/usr/bin/python3
"""The labelled page set that measures the OCR check (doc/OCR.md, bench/ocr_eval.sh).

    /usr/bin/python3 samples/make_ocr_set.py OUT_DIR [--small] [--seed N]
    /usr/bin/python3 samples/make_ocr_set.py OUT_DIR --scanned-pdf PAGES [--dense]   (bench/ocr_pdf.sh)
    /usr/bin/python3 samples/make_ocr_set.py OUT_DIR --text-pdf PAGES      (bench/ocr_pdf.sh)

Writes page images and OUT_DIR/labels.tsv: file, expected verdict, rotation (degrees
clockwise the page was turned), group (clean | degraded | other), and the ground-truth text
file (for printed pages). Deterministic: the same seed gives the same pages. The classifier's
thresholds were set on the default seed; other seeds are held-out sets that check them.
--small writes the handful of small pages the unit tests use.

Needs Debian's python3-pil and python3-numpy and the font packages that
scripts/install-deps.sh installs. No Cyrillic handwriting font is packaged in Debian 12, so
Russian handwriting is imitated twice over: Russian text transliterated into the Latin
handwriting fonts, and Cyrillic italic set with a trembling baseline, uneven size and slant.
"""
import io
import math
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 300
W, H = 2480, 1754  # half an A4 sheet at 300 DPI: as much text as a page, half the OCR time

FONTS = "/usr/share/fonts"
PRINT_FONTS = [
    "truetype/dejavu/DejaVuSerif.ttf",
    "truetype/liberation/LiberationSans-Regular.ttf",
    "truetype/freefont/FreeSerif.ttf",
    "truetype/liberation/LiberationSerif-Regular.ttf",
    "truetype/dejavu/DejaVuSans.ttf",
    "truetype/liberation/LiberationMono-Regular.ttf",
]
HAND_FONTS = [
    "opentype/dancingscript/DancingScript-Regular.otf",
    "truetype/ecolier-court/Ecolier-court.ttf",
    "truetype/fifthhorseman/dkg.ttf",
    "truetype/breip/Breip.ttf",
    "opentype/bwht/BecauseWeLearn-Regular.otf",
    "truetype/femkeklaver/femkeklaver.ttf",
    "opentype/kaushanscript/KaushanScript-Regular.otf",
    "truetype/humor-sans/Humor-Sans.ttf",
]
CYR_ITALIC = ["truetype/freefont/FreeSerifItalic.ttf", "truetype/dejavu/DejaVuSans-Oblique.ttf"]

RU = [
    "Выписной эпикриз. Пациент Иванов Иван Петрович, 1980 года рождения, находился на "
    "лечении в неврологическом отделении с 02.11.2026 по 14.11.2026.",
    "Диагноз: грыжа межпозвонкового диска L4-L5 с радикулопатией. Проведено лечение: "
    "нестероидные противовоспалительные средства, физиотерапия, лечебная физкультура.",
    "Состояние при выписке удовлетворительное. Рекомендована консультация нейрохирурга, "
    "магнитно-резонансная томография поясничного отдела позвоночника через три месяца.",
    "Заключение врача: данных за острую патологию не выявлено. Анализ крови в пределах "
    "нормы, гемоглобин 138 г/л, лейкоциты 6,2 на 10 в девятой степени на литр.",
]
EN = [
    "Discharge summary. The patient was admitted on 2 November 2026 with severe lower back "
    "pain radiating to the left leg and was discharged on 14 November 2026.",
    "Diagnosis: L4-L5 disc herniation with radiculopathy. Treatment included anti-inflammatory "
    "drugs, physiotherapy and exercise therapy with a good response.",
    "Recommendation: neurosurgical consultation and a follow-up magnetic resonance imaging "
    "of the lumbar spine in three months. Attending physician: Smirnova A. V.",
    "Conclusion: no signs of acute pathology. Blood count within normal limits, haemoglobin "
    "138 g/l, white cells 6.2 per nanolitre, erythrocyte sedimentation rate 9 mm/h.",
]
TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})


def translit(s):
    out = []
    for ch in s:
        t = ch.lower().translate(TRANSLIT)
        out.append(t.capitalize() if ch.isupper() else t)
    return "".join(out)


def font(path, size):
    return ImageFont.truetype(os.path.join(FONTS, path), size)


def wrap(draw, text, fnt, width):
    lines, line = [], ""
    for word in text.split():
        trial = (line + " " + word).strip()
        if draw.textlength(trial, font=fnt) <= width:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def printed_page(rng, paragraphs, font_path, size, margin=160):
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    f = font(font_path, size)
    y, truth = margin, []
    for para in paragraphs:
        for line in wrap(d, para, f, W - 2 * margin):
            if y + size * 1.5 > H - margin:
                break
            d.text((margin, y), line, font=f, fill=rng.randint(0, 40))
            truth.append(line)
            y += int(size * 1.45)
        y += size // 2
    return img, "\n".join(truth)


def hand_page(rng, paragraphs, font_path, size, margin=170, page=None):
    """Handwriting: a script font, each word slightly rotated, resized and off the baseline.
    page: (width, height), the default page when None (as for every page below)."""
    w, h = page or (W, H)
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    x, y = margin, margin
    ink = rng.randint(20, 90)
    for para in paragraphs:
        for word in para.split():
            s = int(size * rng.uniform(0.85, 1.15))
            f = font(font_path, s)
            wlen = int(d.textlength(word, font=f)) + 20
            if x + wlen > w - margin:
                x = margin + rng.randint(-20, 30)
                y += int(size * rng.uniform(1.4, 1.8))
            if y + size * 2 > h - margin:
                return img
            tile = Image.new("L", (wlen + 40, int(s * 2)), 0)
            ImageDraw.Draw(tile).text((20, s // 4), word, font=f, fill=255)
            tile = tile.rotate(rng.uniform(-6, 6), resample=Image.BICUBIC, expand=True)
            img.paste(ink, (x, y + rng.randint(-12, 12)), tile)
            x += wlen + rng.randint(-10, 25)
        x = margin + rng.randint(40, 120)
        y += int(size * 1.9)
    return img


def cyrillic_hand_page(rng, paragraphs, size, page=None):
    """Cyrillic 'handwriting': italic letters one by one, each tilted, sized and shifted."""
    w, h = page or (W, H)
    img = Image.new("L", (w, h), 255)
    margin, x, y = 170, 170, 170
    ink = rng.randint(20, 90)
    fp = rng.choice(CYR_ITALIC)
    for para in paragraphs:
        for word in para.split():
            letters = [(ch, int(size * rng.uniform(0.8, 1.2))) for ch in word]
            wlen = sum(int(font(fp, s).getlength(ch)) for ch, s in letters) + 30
            if x + wlen > w - margin:
                x, y = margin + rng.randint(-20, 30), y + int(size * rng.uniform(1.5, 1.9))
            if y + size * 2 > h - margin:
                return img
            drift = rng.uniform(-8, 8)
            for ch, s in letters:
                f = font(fp, s)
                tile = Image.new("L", (int(s * 1.6), int(s * 1.8)), 0)
                ImageDraw.Draw(tile).text((s // 4, s // 5), ch, font=f, fill=255)
                tile = tile.rotate(rng.uniform(-14, 10), resample=Image.BICUBIC, expand=False)
                img.paste(ink, (x, int(y + drift + rng.uniform(-7, 7))), tile)
                x += int(f.getlength(ch) * rng.uniform(0.95, 1.2))
                drift += rng.uniform(-3, 3)
            x += rng.randint(25, 50)
        x, y = margin + rng.randint(40, 120), y + int(size * 2.0)
    return img


def signature_and_stamp(rng, img):
    d = ImageDraw.Draw(img)
    # a signature: one looping stroke
    x0, y0 = W - 900, H - 300
    pts = []
    for i in range(120):
        t = i / 119
        pts.append((x0 + 500 * t + 60 * math.sin(t * 21), y0 + 50 * math.sin(t * 13) - 40 * t))
    d.line(pts, fill=30, width=6)
    # a round stamp: two circles and a ring of small capitals
    cx, cy, r = W - 1300, H - 260, 170
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=110, width=7)
    d.ellipse((cx - r + 40, cy - r + 40, cx + r - 40, cy + r - 40), outline=110, width=4)
    f = font("truetype/dejavu/DejaVuSans.ttf", 30)
    for i, ch in enumerate("ГОРОДСКАЯ БОЛЬНИЦА №1 * "):
        a = 2 * math.pi * i / 24
        d.text((cx + (r - 22) * math.sin(a) - 10, cy - (r - 22) * math.cos(a) - 15), ch, font=f,
               fill=110)
    return img


def form_page(rng, hand_font):
    """A printed form whose fields are filled in by hand."""
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    f = font("truetype/liberation/LiberationSans-Regular.ttf", 46)
    fields = ["Фамилия, имя, отчество", "Дата рождения", "Диагноз", "Проведённое лечение",
              "Рекомендации", "Лечащий врач"]
    fills = ["Petrov Sergey Ivanovich", "12.05.1975", "osteokhondroz, protruziya diska",
             "massazh, fizioterapiya, LFK", "konsultatsiya neyrokhirurga", "Smirnova A. V."]
    d.text((160, 120), "МЕДИЦИНСКОЕ ЗАКЛЮЧЕНИЕ  форма 027/у", font=font(
        "truetype/liberation/LiberationSans-Bold.ttf", 56), fill=0)
    y = 300
    for label, value in zip(fields, fills):
        d.text((160, y), label + ":", font=f, fill=0)
        d.line((160, y + 150, W - 160, y + 150), fill=0, width=3)
        hf = font(hand_font, 78)
        tile = Image.new("L", (1900, 140), 0)
        ImageDraw.Draw(tile).text((10, 10), value, font=hf, fill=255)
        tile = tile.rotate(rng.uniform(-2, 2), resample=Image.BICUBIC)
        img.paste(rng.randint(20, 70), (700, y + 30), tile)
        y += 230
    return img


def degrade(rng, img, dpi, skew=1.5, noise=12, jpeg=55, blur=0.6, shade=True, perspective=False):
    """A scan or a phone photo of a page: skew, shading, blur, noise, lower DPI, JPEG."""
    img = img.rotate(rng.uniform(-skew, skew), resample=Image.BICUBIC, fillcolor=255)
    if perspective:
        w, h = img.size
        dx, dy = w * 0.04, h * 0.03
        coeffs = find_coeffs([(0, 0), (w, 0), (w, h), (0, h)],
                             [(rng.uniform(0, dx), rng.uniform(0, dy)),
                              (w - rng.uniform(0, dx), rng.uniform(0, dy)),
                              (w - rng.uniform(0, dx), h - rng.uniform(0, dy)),
                              (rng.uniform(0, dx), h - rng.uniform(0, dy))])
        img = img.transform((w, h), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=255)
    a = np.asarray(img, dtype=np.float32)
    if shade:
        yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
        light = 1.0 - 0.25 * (xx / a.shape[1]) * (yy / a.shape[0])
        a = 255 - (255 - a) * 0.95
        a = a * light
    a += np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, noise, a.shape)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if dpi != DPI:
        img = img.resize((int(img.width * dpi / DPI), int(img.height * dpi / DPI)), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=jpeg, dpi=(dpi, dpi))
    return Image.open(io.BytesIO(buf.getvalue())), buf.getvalue()


def find_coeffs(source, target):
    matrix = []
    for s, t in zip(source, target):
        matrix.append([t[0], t[1], 1, 0, 0, 0, -s[0] * t[0], -s[0] * t[1]])
        matrix.append([0, 0, 0, t[0], t[1], 1, -s[1] * t[0], -s[1] * t[1]])
    a = np.array(matrix, dtype=np.float64)
    b = np.array(source, dtype=np.float64).reshape(8)
    return np.linalg.solve(a, b).tolist()


def blank_page(rng, kind):
    a = np.full((H, W), 250.0)
    g = np.random.default_rng(rng.randint(0, 1 << 30))
    if kind == "noise":
        a += g.normal(0, 10, a.shape)
        for _ in range(60):  # dust
            y, x = g.integers(0, H - 4), g.integers(0, W - 4)
            a[y:y + 3, x:x + 3] = 60
    elif kind == "bleed":  # the other side's text, mirrored and faint
        back, _ = printed_page(rng, rng.sample(RU, 3), PRINT_FONTS[0], 50)
        back = np.asarray(back.transpose(Image.FLIP_LEFT_RIGHT), dtype=np.float32)
        a = 250 - (255 - back) * 0.1 + g.normal(0, 4, a.shape)
    elif kind == "grey":
        yy = np.mgrid[0:H, 0:W][0]
        a = 235 - 25 * yy / H + g.normal(0, 3, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


SERIF_FONTS = ["truetype/dejavu/DejaVuSerif.ttf", "truetype/freefont/FreeSerif.ttf",
               "truetype/liberation/LiberationSerif-Regular.ttf"]


def scanned_pdf(out, pages, rng, dense=False):
    """A scanned Russian epicrisis: full A4 pages at 300 DPI, scanner-degraded, image only.
    Sparse (epicrisis-scan.pdf): eight paragraphs of 10 pt in four faces, about half a page.
    Dense (epicrisis-dense.pdf): 11 pt serif filling the page, ~40 lines, as a full epicrisis."""
    global W, H
    W, H = 2480, 3508
    images, truth = [], []
    for n in range(pages):
        if dense:
            paras = [RU[(n + k) % len(RU)] for k in range(40)]  # more than a page holds
            img, text = printed_page(rng, paras, SERIF_FONTS[n % 3], 46, margin=200)
        else:
            paras = [RU[(n + k) % len(RU)] for k in range(8)]
            img, text = printed_page(rng, paras, PRINT_FONTS[n % 4], 42, margin=200)
        scan, _ = degrade(rng, img, 300, skew=0.8, noise=6, jpeg=75, blur=0.4, shade=False)
        images.append(scan.convert("L"))
        truth.append(text)
    name = "epicrisis-dense" if dense else "epicrisis-scan"
    images[0].save(os.path.join(out, name + ".pdf"), save_all=True, append_images=images[1:],
                   resolution=300)
    with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(truth) + "\n")


# A Russian laboratory report is full of Latin: analyte codes, units, drug names (issue 23
# asks for the error rate on such a page, not only on prose).
LAB_ROWS = [
    ("Гемоглобин", "HGB", (120, 175), "г/л", "130-160"),
    ("Эритроциты", "RBC", (3.8, 5.6), "×10^12/л", "4,0-5,5"),
    ("Лейкоциты", "WBC", (3.5, 11.0), "×10^9/л", "4,0-9,0"),
    ("Тромбоциты", "PLT", (150, 400), "×10^9/л", "180-320"),
    ("Гематокрит", "HCT", (35, 52), "%", "40-48"),
    ("Средний объём эритроцита", "MCV", (78, 100), "fL", "80-100"),
    ("Нейтрофилы", "NEU", (40, 75), "%", "47-72"),
    ("Лимфоциты", "LYM", (18, 45), "%", "19-37"),
    ("СОЭ", "ESR", (2, 30), "мм/ч", "2-15"),
    ("Аланинаминотрансфераза", "ALT", (8, 60), "U/L", "0-41"),
    ("Аспартатаминотрансфераза", "AST", (8, 55), "U/L", "0-40"),
    ("Креатинин", "CREA", (55, 130), "мкмоль/л", "62-106"),
    ("Глюкоза", "GLU", (3.5, 7.5), "ммоль/л", "3,9-6,1"),
    ("С-реактивный белок", "CRP", (0.5, 25), "mg/L", "0-5"),
    ("Холестерин общий", "CHOL", (3.0, 7.5), "ммоль/л", "3,0-5,2"),
    ("Билирубин общий", "TBIL", (4, 30), "мкмоль/л", "3,4-20,5"),
]
LAB_DRUGS = ["Amoxicillin 500 mg", "Omeprazole 20 mg", "Metformin 850 mg", "Bisoprolol 5 mg",
             "Atorvastatin 20 mg", "Diclofenac 75 mg/3 ml", "Enoxaparin 0,4 ml"]


LAB_SMALL = ["Ср. содержание Hb в эритроците (MCH) 29,1 пг",
             "Эозинофилы (EOS) 3 %, базофилы (BASO) 0,4 %",
             "Тиреотропный гормон (TSH) 2,1 мЕд/л",
             "Гамма-глутамилтранспептидаза (GGT) 31 Ед/л",
             "Тромбоциты 266 ×10^9/л, МНО 1,0",
             "АСТ 25 Ед/л, АЛТ 30 Ед/л, СОЭ 12 мм/ч, ТТГ 2,1"]


def lab_lines(rng, n):
    """Page n of a laboratory report: a heading, the patient, rows of analytes with their
    Latin codes and units, and a prescription line or two."""
    lines = ["КЛИНИКО-ДИАГНОСТИЧЕСКАЯ ЛАБОРАТОРИЯ", f"Общий анализ крови (CBC), бланк № {4711 + n}",
             f"Пациент: Иванов И.П., 1980 г.р. Дата: {10 + n:02d}.11.2026"]
    for name, code, (lo, hi), unit, ref in LAB_ROWS + LAB_ROWS[:8]:
        v = rng.uniform(lo, hi)
        value = f"{v:.1f}".replace(".", ",") if hi < 20 else f"{int(v)}"
        lines.append(f"{name} ({code}) {value} {unit} норма {ref}")
    for drug in rng.sample(LAB_DRUGS, 2):
        lines.append(f"Назначено: {drug} 2 раза в день, 7 дней")
    return lines


def lab_pdf(out, pages, rng):
    """A scanned laboratory report (lab-scan.pdf): 300 DPI, 11 pt serif, one row per line."""
    global W, H
    W, H = 2480, 3508
    images, truth = [], []
    for n in range(pages):
        img, text = printed_page(rng, lab_lines(rng, n), SERIF_FONTS[n % 3], 46, margin=200)
        scan, _ = degrade(rng, img, 300, skew=0.8, noise=6, jpeg=75, blur=0.4, shade=False)
        images.append(scan.convert("L"))
        truth.append(text)
    images[0].save(os.path.join(out, "lab-scan.pdf"), save_all=True, append_images=images[1:],
                   resolution=300)
    with open(os.path.join(out, "lab-scan.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(truth) + "\n")


def text_pdf(out, pages):
    """A born-digital PDF: Helvetica text on every page, no images."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for n in range(pages):
        lines = [EN[(n + k) % len(EN)][i:i + 90] for k in range(4) for i in range(0, 180, 90)]
        content = "BT /F1 11 Tf 60 780 Td 14 TL " + " ".join(
            "(" + l.replace("(", "").replace(")", "") + ") '" for l in lines) + " ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents "
                    f"{len(objs) + 2} 0 R /Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objs)} 0 R")
        objs.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>"
    pdf, offsets = "%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offsets.append(len(pdf))
        pdf += f"{i + 1} 0 obj\n{o}\nendobj\n"
    xref = len(pdf)
    pdf += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n"
    pdf += "".join(f"{o:010d} 00000 n \n" for o in offsets)
    pdf += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    with open(os.path.join(out, "born-digital.pdf"), "w", encoding="latin-1") as f:
        f.write(pdf)


def main():
    out = sys.argv[1]
    if "--scanned-pdf" in sys.argv:
        os.makedirs(out, exist_ok=True)
        scanned_pdf(out, int(sys.argv[sys.argv.index("--scanned-pdf") + 1]), random.Random(5),
                    dense="--dense" in sys.argv)
        return
    if "--lab-pdf" in sys.argv:
        os.makedirs(out, exist_ok=True)
        lab_pdf(out, int(sys.argv[sys.argv.index("--lab-pdf") + 1]), random.Random(11))
        return
    if "--text-pdf" in sys.argv:
        os.makedirs(out, exist_ok=True)
        text_pdf(out, int(sys.argv[sys.argv.index("--text-pdf") + 1]))
        return
    small = "--small" in sys.argv
    os.makedirs(out, exist_ok=True)
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 20261122
    rng = random.Random(seed)
    rows = []

    def save(name, img, verdict, rotation=0, group="other", truth=None, jpeg_bytes=None, dpi=DPI):
        path = os.path.join(out, name)
        if jpeg_bytes is not None:
            with open(path, "wb") as f:
                f.write(jpeg_bytes)
        else:
            img.save(path, dpi=(dpi, dpi))
        tfile = ""
        if truth is not None:
            tfile = name.rsplit(".", 1)[0] + ".txt"
            with open(os.path.join(out, tfile), "w", encoding="utf-8") as f:
                f.write(truth + "\n")
        rows.append((name, verdict, rotation, group, tfile))

    if small:
        # What the unit tests read: small, quick pages of each kind.
        global W, H
        W, H = 1400, 700
        img, truth = printed_page(rng, RU[:1], PRINT_FONTS[0], 44, margin=80)
        save("printed-ru.png", img, "printed", group="clean", truth=truth)
        img, truth = printed_page(rng, EN[:1], PRINT_FONTS[1], 44, margin=80)
        save("printed-en.png", img, "printed", group="clean", truth=truth)
        save("printed-ru-180.png", img.rotate(180), "printed", rotation=180, truth=truth)
        # A phone photo stored sideways with EXIF orientation 6 ("turn 90° clockwise to view").
        exif = Image.Exif()
        exif[0x0112] = 6
        path = os.path.join(out, "printed-exif6.jpg")
        img.rotate(90, expand=True).save(path, "JPEG", quality=90, exif=exif, dpi=(DPI, DPI))
        rows.append(("printed-exif6.jpg", "printed", 0, "other", ""))
        hand = hand_page(rng, [translit(RU[0])], HAND_FONTS[0], 64, margin=80)
        save("handwritten.png", hand, "handwritten")
        # The same two pages as grey JPEGs, for the scanned PDFs the tests build.
        hand.save(os.path.join(out, "handwritten.jpg"), "JPEG", quality=90)
        img.save(os.path.join(out, "printed-en.jpg"), "JPEG", quality=90)
        # A printed form filled in by hand, at full size (the form needs the room).
        W, H = 2480, 1754
        form_page(rng, HAND_FONTS[0]).save(os.path.join(out, "form-filled.png"), dpi=(DPI, DPI))
        rows.append(("form-filled.png", "mixed", 0, "other", ""))
        W, H = 1400, 700
        # A two-page fax-like TIFF: a printed page, then a handwritten one.
        img.save(os.path.join(out, "two-pages.tiff"), save_all=True, append_images=[hand],
                 compression="tiff_deflate", dpi=(DPI, DPI))
        save("blank.png", blank_page(rng, "noise"), "blank")
        # Laboratory codes the benchmark's report does not hold, beside Russian abbreviations
        # that look like codes (АСТ is AST) and must stay Cyrillic.
        img, truth = printed_page(rng, LAB_SMALL, SERIF_FONTS[0], 40, margin=60)
        save("lab-ru.png", img, "printed", truth=truth)
        blurred, _ = printed_page(rng, EN[1:2], PRINT_FONTS[0], 30, margin=80)
        save("blurred.png", blurred.filter(ImageFilter.GaussianBlur(6)), "unreadable")
        # A page long enough for its verdict to come first from a sample of its lines.
        W, H = 1400, 1500
        img, truth = printed_page(rng, RU[:3], PRINT_FONTS[0], 40, margin=80)
        save("printed-long.png", img, "printed", group="clean", truth=truth)
        # The same print in a frame above an empty table: its rules are set aside, so no
        # sample decides it.
        table = img.copy()
        d = ImageDraw.Draw(table)
        d.rectangle((40, 40, 1360, 1460), outline=0, width=4)
        for y in range(880, 1460, 80):
            d.line((40, y, 1360, y), fill=0, width=4)
        d.line((700, 880, 700, 1460), fill=0, width=4)
        save("printed-table.png", table, "printed")
        # Print in the middle, handwriting above and below it: a sample of the middle reads as
        # print, and the rest of the page says otherwise.
        both = Image.new("L", (1400, 1500), 255)
        both.paste(hand_page(rng, [translit(RU[0])], HAND_FONTS[0], 56, margin=60,
                             page=(1400, 420)), (0, 0))
        W, H = 1400, 660
        middle, _ = printed_page(rng, RU[1:3], PRINT_FONTS[0], 40, margin=60)
        both.paste(middle, (0, 420))
        both.paste(hand_page(rng, [translit(RU[2])], HAND_FONTS[1], 56, margin=60,
                             page=(1400, 420)), (0, 1080))
        save("print-between-hands.png", both, "mixed")
    else:
        n = 0
        for i, fp in enumerate(PRINT_FONTS):
            for lang, texts in (("ru", RU), ("en", EN)):
                paras = rng.sample(texts, 3)
                size = rng.choice([42, 46, 50, 58])
                img, truth = printed_page(rng, paras, fp, size)
                n += 1
                if (i + (lang == "en")) % 2 == 0:
                    save(f"{n:02d}-printed-{lang}.png", img, "printed", group="clean", truth=truth)
                else:
                    dpi = rng.choice([150, 200, 300])
                    _, data = degrade(rng, img, dpi, perspective=(i % 3 == 0))
                    save(f"{n:02d}-scan-{lang}.jpg", None, "printed", group="degraded",
                         truth=truth, jpeg_bytes=data, dpi=dpi)
        for rot in (90, 180, 270):
            img, truth = printed_page(rng, rng.sample(RU, 3), rng.choice(PRINT_FONTS[:4]), 50)
            n += 1
            save(f"{n:02d}-rotated-{rot}.png", img.rotate(-rot, expand=True), "printed",
                 rotation=rot, group="clean", truth=truth)
        for k in range(3):
            img, truth = printed_page(rng, rng.sample(EN + RU, 2), PRINT_FONTS[k], 46)
            n += 1
            save(f"{n:02d}-signed-stamped.png", signature_and_stamp(rng, img), "printed")
        for kind in ("white", "noise", "bleed", "grey"):
            n += 1
            img = Image.new("L", (W, H), 255) if kind == "white" else blank_page(rng, kind)
            save(f"{n:02d}-blank-{kind}.png", img, "blank")
        for k, hf in enumerate(HAND_FONTS):
            paras = rng.sample(EN, 2) if k % 2 else [translit(p) for p in rng.sample(RU, 2)]
            n += 1
            img = hand_page(rng, paras, hf, rng.choice([64, 72, 80]))
            if k % 3 == 2:
                _, data = degrade(rng, img, 200, blur=0.4)
                save(f"{n:02d}-hand-scan.jpg", None, "handwritten", jpeg_bytes=data, dpi=200)
            else:
                save(f"{n:02d}-hand.png", img, "handwritten")
        for k in range(2):
            n += 1
            save(f"{n:02d}-hand-cyrillic.png", cyrillic_hand_page(rng, rng.sample(RU, 2), 64),
                 "handwritten")
        for k in range(3):
            n += 1
            save(f"{n:02d}-form-filled.png", form_page(rng, HAND_FONTS[k]), "mixed")
        for k in range(4):
            img, _ = printed_page(rng, rng.sample(RU + EN, 3), PRINT_FONTS[k], 40)
            n += 1
            if k % 2:
                _, data = degrade(rng, img.filter(ImageFilter.GaussianBlur(7)), 150, noise=6)
                save(f"{n:02d}-blurred-photo.jpg", None, "unreadable", jpeg_bytes=data, dpi=150)
            else:
                save(f"{n:02d}-blurred.png", img.filter(ImageFilter.GaussianBlur(6 + k)),
                     "unreadable")

    with open(os.path.join(out, "labels.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tverdict\trotation\tgroup\ttruth\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    print(f"{out}: {len(rows)} pages", file=sys.stderr)


if __name__ == "__main__":
    main()
