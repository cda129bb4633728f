#!/usr/bin/python3
"""The real-material page set that measures the OCR check (doc/OCR.md, bench/ocr_eval.sh).

    /usr/bin/python3 samples/make_real_set.py OUT_DIR --split tuning|heldout

Pages of the five classes (printed, mixed, handwritten, unreadable, blank) composed from
real material that Debian packages ship: scikit-image's photographs, textures and its two
photographed pages (python3-skimage; read here with PIL, skimage is not imported), old and
typewriter typefaces (fonts-oldstandard, fonts-gnutypewriter, fonts-cmu, fonts-paratype),
the repository's own samples/upload/mri-conclusion.jpg, and PDFs made with img2pdf
(python3-img2pdf) — the things real medical paperwork is full of: stamps, signatures, black
scanner borders, punch holes, ultrasound and ECG printouts, letterheads, carbon copies, phone
photos on a tablecloth, low-resolution scans inside PDFs.

Two splits that share no photograph, texture or text: `tuning` (thresholds may be set on
it) and `heldout` (none may be: it checks them). Deterministic: seeded from the split name.
OUT_DIR/labels.tsv has make_ocr_set.py's columns (file, verdict, rotation, group, truth)
and a sixth, `kind`: what the page is (magazine, ecg, hand-stamp, blank-border …). Groups:
clean and degraded printed pages as in make_ocr_set.py, `pictures` for printed pages with
pictures, stamps, traces or logos beside their text, `other` for everything else.
"""
import io
import math
import os
import random
import sys

import img2pdf
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ocr_set import (CYR_ITALIC, HAND_FONTS, cyrillic_hand_page, find_coeffs,  # noqa: E402
                          font, hand_page, translit, wrap)

SAMPLES = os.path.dirname(os.path.abspath(__file__))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
DPI = 300
A4 = (2480, 3508)          # portrait, 300 DPI
A5 = (1748, 2480)
HALF = (2480, 1754)        # half an A4 sheet, landscape, as in make_ocr_set.py
A4_LAND = (3508, 2480)

OLD = "truetype/fonts-oldstandard/OldStandard-Regular.ttf"
OLD_BOLD = "truetype/fonts-oldstandard/OldStandard-Bold.ttf"
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

# What each split may use. No photograph, texture or text is in both.
SPLITS = {
    "tuning": dict(
        photos=["astronaut.png", "coffee.png", "rocket.jpg"],      # magazines, book pages
        drawings=["coins.png", "moon.png"],                        # book illustrations
        scans=["retina.jpg", "moon.png"],                          # ultrasound sectors
        logos=["logo.png"],
        cloths=["brick.png", "grass.png"],
        real_printed=("bw_text.png",
                      "Men may seem detestable as joint\nstock-companies and nations; knaves,\n"
                      "fools, and murderers there may be;\nmen may have mean and meagre\n"
                      "faces; but, man, in the ideal, is so\nnoble and so sparkling, such a grand\n"
                      "and glowing creature, that over any\nignominious blemish in him all his\n"
                      "fellows should run to throw their\ncostliest robes."),
        real_hand=None,
        mri=True,
        clinic=("ГБУЗ «Городская клиническая больница № 4»",
                "ул. Садовая, 12 · тел. 8 (495) 123-45-67 · gkb4@zdrav.example"),
        clinic_en=("Riverside Medical Laboratory", "12 Mill Lane · Tel. 0161 496 0321"),
        stamp=("ГОРОДСКАЯ КЛИНИЧЕСКАЯ БОЛЬНИЦА № 4 * МОСКВА * ", ["ДЛЯ", "ДОКУМЕНТОВ"]),
        doctors=["Смирнова А. В.", "Орлов Д. С.", "Белова Н. А."],
        ru=[
            "Выписка из медицинской карты стационарного больного. Пациентка находилась на "
            "лечении в кардиологическом отделении с 5 по 19 марта 2026 года по поводу "
            "гипертонической болезни второй стадии.",
            "При поступлении жалобы на головную боль, головокружение, общую слабость. "
            "Артериальное давление 170/100 мм рт. ст., пульс 88 ударов в минуту, ритм "
            "правильный.",
            "Проведено лечение: эналаприл 10 мг два раза в день, амлодипин 5 мг, аторвастатин "
            "20 мг на ночь. На фоне терапии давление снизилось до 130/80 мм рт. ст.",
            "Рекомендовано: наблюдение терапевта по месту жительства, контроль липидного "
            "спектра через три месяца, ограничение соли, ходьба не менее 30 минут в день.",
            "Электрокардиограмма: ритм синусовый, частота 72 в минуту, электрическая ось сердца "
            "отклонена влево, признаки гипертрофии левого желудочка.",
        ],
        en=[
            "Outpatient clinic note. The patient reports intermittent chest discomfort on "
            "exertion for two months, relieved by rest within five minutes.",
            "Examination: blood pressure 150/95 mmHg, heart rate 84 per minute, regular. Heart "
            "sounds normal, no murmurs. Lungs clear on auscultation.",
            "Plan: exercise stress test, lipid profile and fasting glucose. Start aspirin 75 mg "
            "daily and atorvastatin 20 mg at night; review in four weeks.",
            "Echocardiography shows a left ventricular ejection fraction of 58 percent with mild "
            "concentric hypertrophy and no regional wall motion abnormality.",
        ],
        old=[  # pre-1918 spelling
            "Исторія болѣзни. Больной поступилъ въ лѣчебницу 12 сентября 1908 года съ жалобами "
            "на сильную головную боль, ознобъ и лихорадку.",
            "Объективно: температура 39,2, пульсъ 104, языкъ обложенъ, селезенка прощупывается. "
            "Фельдшеръ Ѳедоровъ далъ хининъ по 0,3 три раза въ день.",
            "Врачъ полагаетъ, что болѣзнь происходитъ отъ дурной воды; рекомендуется кипятить "
            "воду и соблюдать покой въ теченіе недѣли. Отпечатано въ Сѵнодальной типографіи.",
        ],
        lab=[("WBC", "6.2", "×10^9/L", "4.0–9.0"), ("RBC", "4.61", "×10^12/L", "3.8–5.1"),
             ("HGB", "138", "g/L", "120–150"), ("HCT", "41.2", "%", "35–45"),
             ("PLT", "245", "×10^9/L", "150–400"), ("NEU", "58.4", "%", "47–72"),
             ("LYM", "31.0", "%", "19–37"), ("MON", "7.1", "%", "3–11"),
             ("EOS", "2.9", "%", "0.5–5"), ("ESR", "9", "mm/h", "2–15")],
        lab_title=("Общий анализ крови (CBC)", "Complete blood count"),
        forms=[
            ("МЕДИЦИНСКАЯ СПРАВКА  форма 086/у",
             ["Фамилия, имя, отчество", "Дата рождения", "Место учёбы или работы",
              "Перенесённые заболевания", "Заключение", "Врач"],
             ["Kuznetsova Olga Pavlovna", "03.08.1991", "shkola No 12",
              "ORVI, vetryanaya ospa", "zdorova", "Orlov D. S."]),
            ("НАПРАВЛЕНИЕ НА ГОСПИТАЛИЗАЦИЮ",
             ["Пациент", "Полис ОМС", "Направляется в отделение", "Диагноз при направлении",
              "Цель госпитализации", "Направивший врач"],
             ["Sokolov Andrey Ilyich", "7751 2290 4413 0082", "kardiologiya",
              "IBS, stenokardiya napryazheniya", "koronarografiya", "Belova N. A."]),
            ("REFERRAL FORM",
             ["Patient name", "Date of birth", "Reason for referral", "Current medication",
              "Allergies", "Referring doctor"],
             ["Maria Lopez", "21/04/1968", "chest pain on exertion", "aspirin, atorvastatin",
              "penicillin", "Dr. Hughes"]),
        ],
        notes=["povtornyy osmotr cherez 2 nedeli", "davlenie 135/85, samochuvstvie luchshe",
               "call the patient on Monday", "dose reduced to 5 mg"],
        us=("ПРОТОКОЛ УЛЬТРАЗВУКОВОГО ИССЛЕДОВАНИЯ ЩИТОВИДНОЙ ЖЕЛЕЗЫ",
            ["Аппарат: Aloka SSD-3500, линейный датчик 7,5 МГц.",
             "Правая доля: 16 × 15 × 46 мм, объём 5,5 мл.",
             "Левая доля: 15 × 14 × 44 мм, объём 4,8 мл. Перешеек 3 мм.",
             "Эхогенность обычная, структура однородная, узлов нет.",
             "Заключение: эхографических признаков патологии не выявлено."]),
        ecg=("ЭЛЕКТРОКАРДИОГРАММА   12 отведений   25 мм/с   10 мм/мВ",
             ["ЧСС 72 уд/мин   PQ 160 мс   QRS 92 мс   QT/QTc 380/402 мс   Ось -20°",
              "Заключение: ритм синусовый, электрическая ось отклонена влево, признаки "
              "гипертрофии левого желудочка."], 72),
    ),
    "heldout": dict(
        photos=["chelsea.png", "motorcycle_left.png", "camera.png"],
        drawings=["horse.png", "camera.png"],
        scans=["hubble_deep_field.jpg", "cell.png"],
        logos=["phantom.png"],
        cloths=["gravel.png", "ihc.png"],
        real_printed=("page.png", None),
        real_hand="text.png",
        mri=False,
        clinic=("ООО «Медицинский центр Здоровье»",
                "пр. Мира, 48 · тел. 8 (812) 765-43-21 · info@zdorovie.example"),
        clinic_en=("Northgate Diagnostics", "4 Station Road · Tel. 0113 496 0877"),
        stamp=("МЕДИЦИНСКИЙ ЦЕНТР ЗДОРОВЬЕ * САНКТ-ПЕТЕРБУРГ * ", ["ОГРН", "1027800000001"]),
        doctors=["Егорова Т. Н.", "Зайцев М. Ю.", "Лебедева И. К."],
        ru=[
            "Консультативное заключение эндокринолога. Больной 54 лет обратился с жалобами на "
            "сухость во рту, жажду и учащённое мочеиспускание в течение полугода.",
            "Глюкоза крови натощак 8,4 ммоль/л, гликированный гемоглобин 7,9 процента. "
            "Щитовидная железа не увеличена, узловых образований при пальпации нет.",
            "Диагноз: сахарный диабет второго типа, впервые выявленный. Назначен метформин "
            "500 мг два раза в сутки во время еды с постепенным увеличением дозы.",
            "Ультразвуковое исследование органов брюшной полости: печень увеличена, структура "
            "диффузно неоднородная, желчный пузырь без конкрементов.",
            "Повторный осмотр через шесть недель с дневником самоконтроля глюкозы. Консультация "
            "офтальмолога и невролога для исключения осложнений.",
        ],
        en=[
            "Endocrinology consultation. A 54 year old man presented with dry mouth, thirst and "
            "frequent urination over the last six months.",
            "Fasting plasma glucose 8.4 mmol/l, glycated haemoglobin 7.9 percent. The thyroid "
            "is not enlarged and no nodules are felt on palpation.",
            "Impression: newly diagnosed type 2 diabetes mellitus. Metformin 500 mg twice daily "
            "with meals, increasing the dose gradually over three weeks.",
            "Abdominal ultrasound: the liver is enlarged with a diffusely heterogeneous "
            "echotexture; the gallbladder contains no stones.",
        ],
        old=[
            "Отчетъ городской больницы за 1912 годъ. Въ теченіе года принято 2417 больныхъ, "
            "изъ коихъ выздоровѣло 2105, умерло 96.",
            "Наибольшее число заболѣваній приходилось на тифъ и воспаленіе легкихъ; въ лѣтніе "
            "мѣсяцы наблюдались случаи дизентеріи.",
            "Смотритель больницы проситъ Городскую Думу объ отпускѣ средствъ на постройку "
            "новаго барака. Пожертвованіе купца Ѳеоктистова на мѵро и лѣкарства принято.",
        ],
        lab=[("GLU", "8.4", "mmol/L", "3.9–6.1"), ("HbA1c", "7.9", "%", "4.0–6.0"),
             ("ALT", "42", "U/L", "< 41"), ("AST", "35", "U/L", "< 40"),
             ("CREA", "88", "µmol/L", "62–106"), ("UREA", "5.6", "mmol/L", "2.8–7.2"),
             ("CHOL", "6.1", "mmol/L", "< 5.2"), ("TSH", "2.3", "mIU/L", "0.4–4.0"),
             ("WBC", "7.4", "×10^9/L", "4.0–9.0"), ("PLT", "212", "×10^9/L", "150–400")],
        lab_title=("Биохимический анализ крови", "Blood chemistry"),
        forms=[
            ("ЛИСТ НАЗНАЧЕНИЙ",
             ["Фамилия, имя, отчество", "Палата", "Препарат", "Доза и кратность",
              "Путь введения", "Медицинская сестра"],
             ["Morozov Pavel Olegovich", "palata 6", "metformin", "500 mg 2 raza v den",
              "vnutr posle edy", "Egorova T."]),
            ("ЗАКЛЮЧЕНИЕ ВРАЧЕБНОЙ КОМИССИИ",
             ["Пациент", "Год рождения", "Диагноз", "Решение комиссии", "Срок",
              "Председатель"],
             ["Volkova Irina Sergeevna", "1972", "sakharnyy diabet 2 tipa",
              "prodlit bolnichnyy list", "do 14.04", "Zaytsev M. Yu."]),
            ("PRESCRIPTION AND CONSENT",
             ["Full name", "Date of birth", "Medicine", "Dose", "Agreed to the treatment",
              "Signature"],
             ["John Carter", "02/11/1970", "metformin", "500 mg twice daily", "yes, agreed",
              "J. Carter"]),
        ],
        notes=["kontrol glyukozy natoshchak", "sakhar 7,2 utrom, dieta soblyudaet",
               "recheck HbA1c in May", "seen by the dietitian"],
        us=("ПРОТОКОЛ УЛЬТРАЗВУКОВОГО ИССЛЕДОВАНИЯ ОРГАНОВ БРЮШНОЙ ПОЛОСТИ",
            ["Аппарат: Mindray DC-70, конвексный датчик 3,5 МГц.",
             "Печень: правая доля 162 мм, левая доля 78 мм, контуры ровные.",
             "Эхогенность паренхимы повышена, структура диффузно неоднородная.",
             "Желчный пузырь 72 × 28 мм, стенка 2 мм, конкрементов нет.",
             "Заключение: гепатомегалия, диффузные изменения печени."]),
        ecg=("ECG  12-LEAD   25 mm/s   10 mm/mV   0.05-150 Hz",
             ["HR 64 bpm   PR 172 ms   QRS 88 ms   QT/QTc 404/416 ms   Axis 45",
              "Interpretation: sinus rhythm, normal axis, no acute ST-T changes. Unconfirmed "
              "report, to be reviewed by a physician."], 64),
    ),
}

PAPER = (250, 249, 246)
BLUE_INK = [(28, 48, 150), (35, 40, 120), (20, 70, 170)]
STAMP_INK = [(50, 70, 190), (70, 60, 170), (40, 90, 200)]


# ---------------------------------------------------------------- the split's material

def photo(name, mode="RGB"):
    img = Image.open(os.path.join(SKIMAGE, name))
    if img.mode in ("RGBA", "LA", "P"):
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    return img.convert(mode)


def fit(img, size):
    """img cropped to size's aspect ratio and scaled to it."""
    w, h = img.size
    tw, th = size
    if w * th > h * tw:
        cw = h * tw // th
        img = img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = w * th // tw
        img = img.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    return img.resize(size, Image.LANCZOS)


# ---------------------------------------------------------------- drawing

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


# ---------------------------------------------------------------- printed pages

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


# ---------------------------------------------------------------- the set

def main():
    if len(sys.argv) != 4 or sys.argv[2] != "--split" or sys.argv[3] not in SPLITS:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(1)
    out, split = sys.argv[1], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    s = SPLITS[split]
    rng = random.Random("dossier-real-set-" + split)
    rows = []
    n = [0]

    def save(kind, verdict, ext, data, rotation=0, group="other", truth=None):
        """data: bytes as they are, or a PIL image and its DPI."""
        n[0] += 1
        name = f"{n[0]:03d}-{kind}.{ext}"
        path = os.path.join(out, name)
        if isinstance(data, bytes):
            with open(path, "wb") as f:
                f.write(data)
        else:
            img, dpi = data
            if ext == "tif":
                img.save(path, compression="group4" if img.mode == "1" else "tiff_deflate",
                         dpi=(dpi, dpi))
            else:
                img.save(path, dpi=(dpi, dpi), compress_level=3)
        tfile = ""
        if truth:
            tfile = name.rsplit(".", 1)[0] + ".txt"
            with open(os.path.join(out, tfile), "w", encoding="utf-8") as f:
                f.write(truth + "\n")
        rows.append((name, verdict, rotation, group, tfile, kind))

    # ---- printed
    for k in range(3):
        data, truth = magazine(rng, split, k)
        save("magazine", "printed", "jpg", data, group="pictures", truth=truth)
    for k in range(3):
        data, truth = book_page(rng, split, k)
        save("book-illustration", "printed", "jpg", data, group="pictures", truth=truth)
    for k in range(3):
        img, dpi, truth = old_russian(rng, split, k)
        save("old-russian", "printed", "tif" if k == 1 else "png", (img, dpi), group="degraded",
             truth=truth)
    for k in range(3):
        img, truth = border_holes_page(rng, split, k)
        if k == 2:
            save("border-holes", "printed", "jpg", jpeg(img.resize(
                (img.width * 2 // 3, img.height * 2 // 3), Image.LANCZOS), 200, 80),
                group="degraded", truth=truth)
        else:
            save("border-holes", "printed", "tif" if k == 0 else "png", (img, 300),
                 group="degraded", truth=truth)
    for k, dpi in enumerate([60, 100, 150] if split == "tuning" else [60, 75, 120]):
        data, truth = lowres_page(rng, split, dpi, short=k != 1)
        save("lowres-pdf", "printed", "pdf", pdf_of(data), group="degraded", truth=truth)
    if s["mri"]:
        with open(os.path.join(SAMPLES, "upload", "mri-conclusion.jpg"), "rb") as f:
            save("lowres-pdf", "printed", "pdf", pdf_of(f.read()), group="degraded",
                 truth="MRI OF THE LUMBAR SPINE - CONCLUSION\nPatient: Ivanov I.P., 1980\n"
                       "L4-L5: posterior median disc herniation 6 mm, compressing the left L5 "
                       "root.\nConclusion: MR signs of L4-L5 disc herniation.\n"
                       "Radiologist: Petrov K.S.")
    for k in range(3):
        data, truth = epicrisis(rng, split, k)
        save("epicrisis-stamp", "printed", "jpg", data, group="pictures", truth=truth)
    for k in range(3):
        data, truth = ultrasound(rng, split, k)
        save("ultrasound", "printed", "jpg", data, group="pictures", truth=truth)
    for k in range(2):
        data, truth = ecg(rng, split, k)
        save("ecg", "printed", "jpg", data, group="pictures", truth=truth)
    for k in range(3):
        data, truth = letterhead_table(rng, split, k)
        save("letterhead-table", "printed", "jpg", data, group="pictures", truth=truth)
    for k in range(3):
        img, truth = typewriter_page(rng, split, TYPEWRITERS[k])
        img = carbon(rng, img)
        save("carbon-copy", "printed", "jpg", jpeg(scan(rng, img, 200, noise=3, blur=0), 200, 80),
             group="degraded", truth=truth)
    for k in range(3):
        img, truth = text_page(rng, split, size=A5, fs=rng.choice([40, 44]), margin=170)
        photo_img = phone_photo(rng, split, img, tilt=rng.uniform(0.06, 0.12))
        save("phone-photo", "printed", "jpg", jpeg(photo_img, 72, 85), group="degraded",
             truth=truth)
    for k in range(3):
        img, truth = typewriter_page(rng, split, TYPEWRITERS[k])
        img = scan(rng, img, 300, skew=0.8, noise=5, blur=0.6)
        save("typewriter", "printed", "png", (img, 300), group="clean", truth=truth)
    name, truth = s["real_printed"]
    with open(os.path.join(SKIMAGE, name), "rb") as f:
        save("real-page", "printed", "png", f.read(), group="clean" if truth else "other",
             truth=truth)
    for k, rot in enumerate((90, 180, 270)):
        if k == 0:
            img, truth = typewriter_page(rng, split, TYPEWRITERS[1])
            img = scan(rng, img, 300, noise=4, blur=0.5)
            save("rotated", "printed", "png", (img.rotate(-rot, expand=True), 300),
                 rotation=rot, group="clean", truth=truth)
        elif k == 1:
            img, truth = text_page(rng, split, size=A5, fs=44, margin=170)
            img = scan(rng, img, 300, noise=4, blur=0.5)
            save("rotated", "printed", "png", (img.rotate(-rot, expand=True), 300),
                 rotation=rot, group="clean", truth=truth)
        else:
            data, truth = letterhead_table(rng, split, k, rotate=rot)
            save("rotated", "printed", "jpg", data, rotation=rot, group="pictures", truth=truth)

    # ---- handwritten
    hk = [0]

    def hand(size=HALF, fs=None):
        hk[0] += 1
        return hand_base(rng, split, hk[0], size=size, fs=fs)

    for k in range(4):
        save("hand-plain", "handwritten", "png", (scan(rng, blue(rng, hand()), 300, noise=3,
                                                       blur=0.4), 300))
    for k in range(4):
        img = cyrillic_hand_page(rng, rng.sample(s["ru"], 2), rng.choice([60, 66, 72]))
        save("hand-cyrillic", "handwritten", "jpg" if k % 2 else "png",
             jpeg(scan(rng, blue(rng, img), 200, noise=4), 200, 80) if k % 2 else
             (blue(rng, img), 300))
    for k in range(4):
        img = blue(rng, hand())
        img = stamp_and_sign(rng, img, split, (HALF[0] // 2, HALF[1] - 520, HALF[0] - 300,
                                               HALF[1] - 200))
        save("hand-stamp", "handwritten", "jpg", jpeg(scan(rng, img, 200), 200, 82))
    for k in range(4):
        img = scan(rng, hand(size=A5 if k % 2 else HALF), 300, noise=6, blur=0.6)
        img = punch_holes(rng, scanner_border(rng, img), rng.choice([2, 4]),
                          "left" if k % 2 else "top", 300)
        save("hand-border-holes", "handwritten", "tif" if k == 0 else "png", (img, 300))
    for k in range(4):
        img = blue(rng, hand(size=A5, fs=rng.choice([60, 68])))
        save("hand-phone-photo", "handwritten", "jpg",
             jpeg(phone_photo(rng, split, img, tilt=rng.uniform(0.05, 0.12)), 72, 85))
    for k, dpi in enumerate([150, 100, 120, 150] if split == "tuning" else [100, 150, 120, 100]):
        img = scan(rng, hand(size=A4 if k % 2 else HALF), dpi, noise=5, blur=0.5)
        save("hand-lowres-pdf", "handwritten", "pdf", pdf_of(jpeg(img, dpi, 70)))
    for k in range(4):
        img = carbon(rng, hand(), blur=rng.uniform(0.8, 1.3))
        save("hand-carbon", "handwritten", "jpg", jpeg(scan(rng, img, 200, noise=3, blur=0), 200, 80))
    for k in range(4):
        # a letterhead with the logo and one printed line, then the handwriting
        W, H = A5
        page = Image.new("L", (W, H), 255)
        lg = fit(photo(s["logos"][0], "L"), (200, 200))
        page.paste(lg, (150, 110))
        d = ImageDraw.Draw(page)
        name, _ = s["clinic"]
        d.text((390, 170), name, font=font(PT_SANS_BOLD, 40), fill=0)
        d.line((150, 350, W - 150, 350), fill=0, width=4)
        body = hand(size=(W, H - 380))
        page.paste(body, (0, 380))
        save("hand-letterhead", "handwritten", "jpg",
             jpeg(scan(rng, coloured(page, rng.choice(BLUE_INK)), 200, noise=3), 200, 82))
    if s["real_hand"]:
        with open(os.path.join(SKIMAGE, s["real_hand"]), "rb") as f:
            save("real-handwriting", "handwritten", "png", f.read())

    # ---- mixed: printed forms filled in by hand, and printed pages with handwritten notes
    def filled(k, **kw):
        return form(rng, split, k, HAND_FONTS[(k * 3 + len(rows)) % len(HAND_FONTS)], **kw)

    def two_inks(img_l):
        """Print black, handwriting blue: the form's rules and labels are pure black (0)."""
        a = np.asarray(img_l)
        printed = Image.fromarray(np.where(a < 8, 0, 255).astype(np.uint8))
        written = Image.fromarray(np.where(a < 8, 255, a).astype(np.uint8))
        return multiply(coloured(printed, (0, 0, 0)), Image.eval(written, lambda v: 255 - v),
                        rng.choice(BLUE_INK))

    for k in range(4):
        save("form-plain", "mixed", "png", (scan(rng, two_inks(filled(k)), 300, noise=3), 300))
    for k in range(4):
        img = stamp_and_sign(rng, two_inks(filled(k)), split,
                             (HALF[0] // 2, HALF[1] - 560, HALF[0] - 300, HALF[1] - 250))
        save("form-stamp", "mixed", "jpg", jpeg(scan(rng, img, 200), 200, 82))
    for k in range(4):
        img = scan(rng, filled(k), 300, noise=6, blur=0.6)
        img = punch_holes(rng, scanner_border(rng, img), rng.choice([2, 3, 4]), "top", 300)
        save("form-border-holes", "mixed", "tif" if k == 0 else "png", (img, 300))
    for k in range(4):
        img = two_inks(filled(k))
        save("form-phone-photo", "mixed", "jpg",
             jpeg(phone_photo(rng, split, img, frame=(2592, 1944), tilt=rng.uniform(0.05, 0.1)),
                  72, 85))
    for k, dpi in enumerate([150, 120, 100, 150] if split == "tuning" else [120, 150, 100, 120]):
        img = scan(rng, filled(k), dpi, noise=5, blur=0.5)
        save("form-lowres-pdf", "mixed", "pdf", pdf_of(jpeg(img, dpi, 70)))
    for k in range(4):
        img = carbon(rng, filled(k), blur=rng.uniform(0.8, 1.2))
        save("form-carbon", "mixed", "jpg", jpeg(scan(rng, img, 200, noise=3, blur=0), 200, 80))
    for k in range(4):
        img = scan(rng, two_inks(filled(k, logo=True)), 200, noise=3)
        save("form-letterhead", "mixed", "jpg", jpeg(img, 200, 82))
    for k in range(4):
        img = two_inks(with_notes(rng, split, k, HAND_FONTS[(k * 5 + 1) % len(HAND_FONTS)]))
        save("print-with-notes", "mixed", "jpg", jpeg(scan(rng, img, 200), 200, 82))

    # ---- blank
    for kind in ("white", "noise", "show-through", "grey"):
        for k in range(5):
            img = blank(rng, split, kind)
            if kind == "grey" and k % 2:
                img = coloured(Image.eval(img, lambda v: 255 - (255 - v) * 3 // 2),
                               rng.choice([(120, 110, 80), (100, 110, 120)]))
            if k % 2:
                save(f"blank-{kind}", "blank", "jpg", jpeg(scan(rng, img, 200, skew=0, noise=2,
                                                                 shade=0), 200, 85))
            else:
                save(f"blank-{kind}", "blank", "png", (img, 300))
    for k in range(5):
        img = scanner_border(rng, blank(rng, split, rng.choice(["white", "noise", "grey"])))
        if k % 2:
            img = punch_holes(rng, img, rng.choice([2, 4]), "top", 300)
        save("blank-border", "blank", "tif" if k == 0 else "png", (img, 300))
    for k in range(5):
        img = blank(rng, split, rng.choice(["white", "noise", "show-through"]), size=A5)
        img = punch_holes(rng, img, rng.choice([2, 3, 4]), "left", 300, dark=k % 2 == 0)
        save("blank-holes", "blank", "png", (img, 300))
    for k, dpi in enumerate([60, 100, 150, 75, 120]):
        img = blank(rng, split, ["white", "noise", "grey", "show-through", "white"][k], size=A4)
        img = scan(rng, img, dpi, skew=0, noise=3, blur=0.5)
        save("blank-lowres-pdf", "blank", "pdf", pdf_of(jpeg(img, dpi, 70)))

    # ---- unreadable
    def any_page(k, size=HALF):
        if k % 3 == 2:
            return hand(size=size)
        return text_page(rng, split, size=size, fs=rng.choice([38, 44, 50]), margin=170)[0]

    for k in range(5):
        img = any_page(k).filter(ImageFilter.GaussianBlur(rng.uniform(5.5, 9)))
        if k % 2:
            save("gaussian-blur", "unreadable", "jpg", jpeg(scan(rng, img, 200, noise=4), 200, 70))
        else:
            save("gaussian-blur", "unreadable", "png", (img, 300))
    for k in range(5):
        img = motion_blur(any_page(k), rng.randint(35, 70), rng.uniform(-30, 30))
        save("motion-blur", "unreadable", "jpg", jpeg(scan(rng, img, 200, noise=4, blur=0.8),
                                                      200, 75))
    for k in range(5):
        img = any_page(k, size=A5)
        if k % 2:
            img = phone_photo(rng, split, img, blur=1.2)
        save("too-dark", "unreadable", "jpg", jpeg(too_dark(rng, img), 72, 70))
    for k in range(5):
        # letters 3–5 pixels high: a page scanned far too small
        fs = rng.choice([38, 44, 50])
        img = text_page(rng, split, size=HALF, fs=fs, margin=170)[0] if k % 3 != 2 else hand(fs=fs)
        f = rng.uniform(4, 5.5) / fs   # the type's size: 4–5.5 px, letters 3–5 px high
        img = img.resize((int(img.width * f), int(img.height * f)), Image.LANCZOS)
        save("too-small", "unreadable", "jpg" if k % 2 else "png",
             jpeg(img, 30, 80) if k % 2 else (img, 30))
    for k in range(4):
        # a photo from across the room: the page a small patch of a large picture
        img = any_page(k, size=A5)
        shot = phone_photo(rng, split, img, frame=(2592, 1944), fill=rng.uniform(0.16, 0.22),
                           tilt=0.15, blur=1.0)
        save("across-room", "unreadable", "jpg", jpeg(shot, 72, 80))
    for k in range(4):
        img = any_page(k).filter(ImageFilter.GaussianBlur(rng.uniform(5.5, 8)))
        img = punch_holes(rng, scanner_border(rng, img), rng.choice([2, 4]), "top", 300)
        save("blur-border", "unreadable", "png", (img, 300))
    for k in range(4):
        img = any_page(k, size=A5)
        shot = phone_photo(rng, split, img, blur=rng.uniform(5, 8))
        save("blur-tablecloth", "unreadable", "jpg", jpeg(shot, 72, 80))

    with open(os.path.join(out, "labels.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tverdict\trotation\tgroup\ttruth\tkind\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    counts = {}
    for r in rows:
        counts[r[1]] = counts.get(r[1], 0) + 1
    print(f"{out}: {len(rows)} pages ({', '.join(f'{v} {k}' for k, v in counts.items())})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
