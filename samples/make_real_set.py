#!/usr/bin/python3
"""The real-material page set that measures the OCR check (doc/OCR.md, bench/ocr_eval.sh).

    /usr/bin/python3 samples/make_real_set.py OUT_DIR --split tuning|heldout [--draw N]

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
`--draw N` (N ≥ 2) draws the split's pages again from the same material with another seed:
pages no one has looked at, to check a rule set after the first draw's results were seen.
OUT_DIR/labels.tsv has make_ocr_set.py's columns (file, verdict, rotation, group, truth)
and a sixth, `kind`: what the page is (magazine, ecg, hand-stamp, blank-border …). Groups:
clean and degraded printed pages as in make_ocr_set.py, `pictures` for printed pages with
pictures, stamps, traces or logos beside their text, `other` for everything else.

The material is in real_material.py, what paper goes through (ink, stamps, scanners, phone
photos) in page_effects.py, one function per kind of page in real_pages.py; this file lays
out the set.
"""
import os
import random
import sys

from PIL import Image, ImageFilter

from make_ocr_set import HAND_FONTS, cyrillic_hand_page
from page_effects import (A4, A5, BLUE_INK, HALF, TYPEWRITERS, carbon, coloured, jpeg,
                          motion_blur, pdf_of, phone_photo, punch_holes, scan, scanner_border,
                          stamp_and_sign)
from real_material import SAMPLES, SKIMAGE, SPLITS
from real_pages import (blank, blue, book_page, border_holes_page, ecg, epicrisis, form,
                        hand_base, letterhead_note, letterhead_table, lowres_page, magazine,
                        old_russian, text_page, too_dark, two_inks, typewriter_page, ultrasound,
                        with_notes)


class SetWriter:
    """The pages of one split as they are written: files, labels.tsv rows, and the random
    numbers, drawn in one fixed order (the set is the same on every run)."""

    def __init__(self, out, split, draw=1):
        self.out, self.split = out, split
        self.material = SPLITS[split]
        seed = "dossier-real-set-" + split + (f"-draw-{draw}" if draw > 1 else "")
        self.rng = random.Random(seed)
        self.rows = []
        self.hands = 0

    def save(self, kind, verdict, ext, data, rotation=0, group="other", truth=None):
        """data: the file's bytes as they are, or (PIL image, its DPI)."""
        name = f"{len(self.rows) + 1:03d}-{kind}.{ext}"
        path = os.path.join(self.out, name)
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
            with open(os.path.join(self.out, tfile), "w", encoding="utf-8") as f:
                f.write(truth + "\n")
        self.rows.append((name, verdict, rotation, group, tfile, kind))

    def hand(self, size=HALF, fs=None):
        """The next page of handwriting (fonts and scripts in turn)."""
        self.hands += 1
        return hand_base(self.rng, self.split, self.hands, size=size, fs=fs)

    def filled_form(self, k, **kw):
        font_path = HAND_FONTS[(k * 3 + len(self.rows)) % len(HAND_FONTS)]
        return form(self.rng, self.split, k, font_path, **kw)

    def any_page(self, k, size=HALF):
        """Print, or every third page handwriting: what blur and darkness make unreadable."""
        if k % 3 == 2:
            return self.hand(size=size)
        return text_page(self.rng, self.split, size=size, fs=self.rng.choice([38, 44, 50]),
                         margin=170)[0]

    def write_labels(self):
        with open(os.path.join(self.out, "labels.tsv"), "w", encoding="utf-8") as f:
            f.write("file\tverdict\trotation\tgroup\ttruth\tkind\n")
            for r in self.rows:
                f.write("\t".join(str(x) for x in r) + "\n")


def printed(w):
    """Printed pages of every kind the issue lists, three of most, a few turned."""
    rng, split, save, s = w.rng, w.split, w.save, w.material

    def with_pictures(kind, make, pages):
        for k in range(pages):
            data, truth = make(rng, split, k)
            save(kind, "printed", "jpg", data, group="pictures", truth=truth)

    with_pictures("magazine", magazine, 3)
    with_pictures("book-illustration", book_page, 3)
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
    with_pictures("epicrisis-stamp", epicrisis, 3)
    with_pictures("ultrasound", ultrasound, 3)
    with_pictures("ecg", ecg, 2)
    with_pictures("letterhead-table", letterhead_table, 3)
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


def handwritten(w):
    """Handwriting with the same distractions as print: stamps, borders, photos, carbon."""
    rng, split, save, s = w.rng, w.split, w.save, w.material
    hand = w.hand
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
        save("hand-carbon", "handwritten", "jpg",
             jpeg(scan(rng, img, 200, noise=3, blur=0), 200, 80))
    for k in range(4):
        page = letterhead_note(split, hand)
        save("hand-letterhead", "handwritten", "jpg",
             jpeg(scan(rng, coloured(page, rng.choice(BLUE_INK)), 200, noise=3), 200, 82))
    if s["real_hand"]:
        with open(os.path.join(SKIMAGE, s["real_hand"]), "rb") as f:
            save("real-handwriting", "handwritten", "png", f.read())


def mixed(w):
    """Printed forms filled in by hand, printed pages with handwritten notes."""
    rng, split, save = w.rng, w.split, w.save
    filled_form = w.filled_form
    for k in range(4):
        img = scan(rng, two_inks(rng, filled_form(k)), 300, noise=3)
        save("form-plain", "mixed", "png", (img, 300))
    for k in range(4):
        img = stamp_and_sign(rng, two_inks(rng, filled_form(k)), split,
                             (HALF[0] // 2, HALF[1] - 560, HALF[0] - 300, HALF[1] - 250))
        save("form-stamp", "mixed", "jpg", jpeg(scan(rng, img, 200), 200, 82))
    for k in range(4):
        img = scan(rng, filled_form(k), 300, noise=6, blur=0.6)
        img = punch_holes(rng, scanner_border(rng, img), rng.choice([2, 3, 4]), "top", 300)
        save("form-border-holes", "mixed", "tif" if k == 0 else "png", (img, 300))
    for k in range(4):
        img = two_inks(rng, filled_form(k))
        save("form-phone-photo", "mixed", "jpg",
             jpeg(phone_photo(rng, split, img, frame=(2592, 1944), tilt=rng.uniform(0.05, 0.1)),
                  72, 85))
    for k, dpi in enumerate([150, 120, 100, 150] if split == "tuning" else [120, 150, 100, 120]):
        img = scan(rng, filled_form(k), dpi, noise=5, blur=0.5)
        save("form-lowres-pdf", "mixed", "pdf", pdf_of(jpeg(img, dpi, 70)))
    for k in range(4):
        img = carbon(rng, filled_form(k), blur=rng.uniform(0.8, 1.2))
        save("form-carbon", "mixed", "jpg", jpeg(scan(rng, img, 200, noise=3, blur=0), 200, 80))
    for k in range(4):
        img = scan(rng, two_inks(rng, filled_form(k, logo=True)), 200, noise=3)
        save("form-letterhead", "mixed", "jpg", jpeg(img, 200, 82))
    for k in range(4):
        img = two_inks(rng, with_notes(rng, split, k, HAND_FONTS[(k * 5 + 1) % len(HAND_FONTS)]))
        save("print-with-notes", "mixed", "jpg", jpeg(scan(rng, img, 200), 200, 82))


def blanks(w):
    """White, noisy, show-through, grey, black-bordered, punched, low-resolution PDFs."""
    rng, split, save = w.rng, w.split, w.save
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


def unreadable(w):
    """Blurred, too dark, too small: pages no one can read."""
    rng, split, save = w.rng, w.split, w.save
    hand, any_page = w.hand, w.any_page
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


def main():
    args = sys.argv[1:]
    draw = 1
    if len(args) == 5 and args[3] == "--draw" and args[4].isdigit() and int(args[4]) >= 2:
        draw = int(args[4])
        args = args[:3]
    if len(args) != 3 or args[1] != "--split" or args[2] not in SPLITS:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(1)
    out, split = args[0], args[2]
    os.makedirs(out, exist_ok=True)
    w = SetWriter(out, split, draw)
    for pages in (printed, handwritten, mixed, blanks, unreadable):
        pages(w)
    w.write_labels()
    counts = {}
    for r in w.rows:
        counts[r[1]] = counts.get(r[1], 0) + 1
    print(f"{out}: {len(w.rows)} pages ({', '.join(f'{v} {k}' for k, v in counts.items())})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
