"""What the real-material OCR evaluation set (make_real_set.py) is made of, split by split:
the scikit-image photographs, textures and photographed pages each split may use, and its
texts. No photograph, texture or text is in both splits.
"""
import os

from PIL import Image

SAMPLES = os.path.dirname(os.path.abspath(__file__))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"

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
