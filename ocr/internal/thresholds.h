// The OCR check's thresholds, each with the reason for it: the table the verdict's rules
// (Classify, classify.cc) and the analysis's early exits (analyze.cc) read. Set on the
// labelled evaluation sets' tuning parts (synthetic seed 20261122 and the real-material tuning
// split, doc/OCR.md), never on their held-out parts. Private to ocr/.
#pragma once

namespace dossier::ocr {

// Below this share of the page, there is no ink worth reading (a blank back side, specks).
inline constexpr double kBlankInk = 0.0008;
// Grey haze (darker than 175 on paper flattened to 200) over this share of a page without
// crisp ink is text blurred beyond reading. The evaluation set's blank pages — scanner
// noise, the other side showing through at 10%, grey paper — stay under 0.0006; its blurred
// pages start at 0.0055.
inline constexpr double kFaintText = 0.002;
// Print: the mean word confidence and the share of the ink inside confidently read words.
inline constexpr double kPrintConfidence = 83;
// Print whose weak lines are remnants (of a picture, a tablecloth): read words and repeated
// type leave at most this share of its ink unexplained. Printed pages of the real-material
// tuning split: ≤ 0.05 but two (0.15, 0.19); handwriting: ≥ 0.20, forms ≥ 0.11.
inline constexpr double kExplainedPrint = 0.1;
// Type sits on its baseline: on the real-material tuning split, printed pages have 0.84–1.0
// of their letter-sized shapes on their line's baseline, handwriting 0.31–0.70.
inline constexpr double kTypeBaseline = 0.8;
// A form's rules, set aside, cover 0.02–0.19 of the page on every set; a page of text
// without rules or pictures, none.
inline constexpr double kNoRules = 0.01;
// Grey haze at least twice the crisp ink: a blurred page.
inline constexpr double kHaze = 2;
// Print's confidently read words hold at least this share of its ink (a stamp and a signature
// leave the rest).
inline constexpr double kPrintInk = 0.75;
// A form's printed labels, read well, hold at least this share of its ink; handwriting with
// a printed line or two, less.
inline constexpr double kFormPrintInk = 0.3;
// Three words that read as words (in a dictionary, or shaped like one): less is no text to
// judge — a page number, a stamp's word, a guess in noise.
inline constexpr double kFewWords = 3;
// Letters under this height in pixels after scaling up cannot be read: the scan was too
// coarse (the evaluation sets' letters 3–5 px high measure 4–9 px).
inline constexpr double kSmallestLetters = 10;
// A page more than half covered by what was set aside (pictures, dark bands, noise) with no
// text read beside it is neither a blank sheet nor handwriting. With ink over kInkedOver of
// the page as well, it is not even laid out for reading (noise can keep Tesseract's layout
// analysis busy for minutes).
inline constexpr double kMostlyPicture = 0.5;
inline constexpr double kInkedOver = 0.3;
// Crisp print or pen strokes have edges at least this strong (Sobel, 8-bit); blur lowers it.
inline constexpr double kSharpEdges = 60;

// Analysis (analyze.cc), before and around Tesseract's reading.

// Grey structure over this share of the page (darker than 175 on paper flattened to 200)
// is something to look at; below it, a blank sheet with specks (kFaintText).
inline constexpr double kStructure = 0.002;
// The smallest shape (pixels high, as the image came) measured as a letter. A crowd of
// smaller shapes is print too small for a clinic to read (a photo from across the room, a
// thumbnail), whatever Tesseract guesses from it scaled up: the real-material tuning split's
// pages of 4–5.5 px type measure so. Letters of this height are read: a 60 DPI scan of 10 pt
// print has small letters of 4 px and reads at confidence 83–96.
inline constexpr double kSmallestLetter = 4;
// A skew this large (degrees) is levelled before reading, when Leptonica's measure of it is
// at least this sure (its own default for deskewing).
inline constexpr double kSkewDegrees = 1.0;
inline constexpr double kSkewSure = 3.0;
// Skews are looked for up to this many degrees either way: Leptonica's default, 7, reports no
// confidence for a phone photo at 6°, at the edge of its sweep.
inline constexpr float kSkewRange = 12;
// The sample of the verdict first (analyze.cc, SampleVerdict): this many text lines from the
// middle of a page of at least twice as many, read alone; sure only when the rest of the
// page's ink is no more unrepeated (not type) than the band's plus this margin.
inline constexpr int kSampleLines = 6;
inline constexpr double kSampleUnrepeatedMargin = 0.10;

}  // namespace dossier::ocr
