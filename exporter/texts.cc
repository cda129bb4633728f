#include "exporter/texts.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "exporter/zip_part.h"

namespace dossier::exporter {
namespace {

using nlohmann::json;

std::string Html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Names from old media may not be UTF-8: shown with U+FFFD rather than failing the export.
std::string Dump(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string PartOf(const BundleHeader& h) { return fmt::format("{} / {}", h.part, h.parts.size()); }

json Header(const BundleHeader& h) {
  json parts = json::array();
  for (const auto& [name, holds] : h.parts) parts.push_back({{"name", name}, {"holds", holds}});
  json j = {{"format", "dossier-export-v1"},
            {"export_id", h.export_id},
            {"request_id", h.request_id},
            {"consent_id", h.consent_id},
            {"clinic", {{"id", h.clinic_id}, {"name", h.clinic_name}}},
            {"from", h.sender},
            {"purpose", h.purpose},
            {"urgent", h.urgent},
            {"created_at", h.created_at},
            {"part", h.part},
            {"parts", parts}};
  if (h.deidentified || h.jpeg_ls) {
    j["imaging"] = {{"deidentified", h.deidentified}, {"jpeg_ls_lossless", h.jpeg_ls}};
  }
  return j;
}

constexpr const char* kHtmlHead =
    "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title>\n"
    "<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}"
    "td,th{{border:1px solid #999;padding:4px 8px;text-align:left}}</style></head><body>\n";

std::string HtmlHeader(const BundleHeader& h, const std::string& title) {
  std::string out = fmt::format(kHtmlHead, Html(title));
  out += fmt::format(
      "<h1>{}</h1>\n<p>Запрос / Request <b>{}</b> · часть / part <b>{}</b> · "
      "клиника / clinic <b>{}</b>{}</p>\n",
      Html(title), Html(h.request_id), PartOf(h), Html(h.clinic_name),
      h.sender.empty() ? "" : " · от / from <b>" + Html(h.sender) + "</b>");
  return out;
}

std::string PartsList(const BundleHeader& h) {
  std::string out = "<h2>Все части / All parts</h2>\n<ol>\n";
  for (const auto& [name, holds] : h.parts) {
    out += fmt::format("<li>{} — {}</li>\n", Html(name), Html(holds));
  }
  return out + "</ol>\n";
}

}  // namespace

std::string Describe(const PartSummary& p) {
  std::string out;
  if (p.documents > 0) out = fmt::format("{} document(s)", p.documents);
  if (p.instances > 0) {  // counts only: the line's length must not grow with the series
    out += fmt::format("{}{} DICOM image(s) of {} series", out.empty() ? "" : "; ", p.instances,
                       p.series.size());
  }
  return out;
}

std::string Readme(const BundleHeader& h) {
  const std::string open_ru =
      h.encrypted ? "Архив зашифрован (AES-256). Пароль прислан отдельно, другим способом.\n"
                    "Откройте архив программой 7-Zip (https://www.7-zip.org, бесплатно) — правый\n"
                    "щелчок → 7-Zip → «Распаковать» — и введите пароль. WinRAR и WinZip тоже "
                    "подходят.\n"
                  : "Архив не зашифрован. Откройте его 7-Zip, WinRAR, WinZip или средствами "
                    "системы.\n";
  const std::string open_en =
      h.encrypted ? "The archive is encrypted (AES-256). The password was sent separately, by\n"
                    "another channel. Open it with 7-Zip (https://www.7-zip.org, free) — right\n"
                    "click → 7-Zip → Extract — and enter the password. WinRAR and WinZip work "
                    "too.\n"
                  : "The archive is not encrypted. Open it with 7-Zip, WinRAR, WinZip or the "
                    "system's own tools.\n";
  return fmt::format(
      "\xEF\xBB\xBF"
      "МЕДИЦИНСКИЕ ДОКУМЕНТЫ ПАЦИЕНТА / PATIENT'S MEDICAL RECORDS\n"
      "Запрос / Request: {}    Часть / Part: {}\n"
      "Клиника / Clinic: {}\n"
      "{}"
      "Цель / Purpose: {}{}\n\n"
      "РУССКИЙ\n"
      "Это медицинские документы пациента, переданные с его письменного согласия ({}).\n"
      "Каждая часть — самостоятельный архив: её можно открыть отдельно от других.\n"
      "{}"
      "INDEX.HTM — список документов этой части (откройте в браузере).\n"
      "DOCS — документы. DICOM — снимки: откройте файл DICOMDIR программой просмотра DICOM.\n"
      "MANIFEST.json — перечень всех файлов с контрольными суммами SHA-256; контрольные суммы\n"
      "самих частей — в файле SHA256SUMS, отправленном вместе с частями.\n"
      "Пожалуйста, укажите номер запроса {} в ответе.\n\n"
      "ENGLISH\n"
      "These are a patient's medical records, sent with their written consent ({}).\n"
      "Each part is a self-contained archive: it opens on its own, without the others.\n"
      "{}"
      "INDEX.HTM lists the documents in this part (open it in a browser).\n"
      "DOCS holds the documents. DICOM holds the imaging: open DICOMDIR in a DICOM viewer.\n"
      "MANIFEST.json lists every file with its SHA-256; the parts' own checksums are in\n"
      "SHA256SUMS, sent beside the parts.\n"
      "Please quote request {} in your answer.\n",
      h.request_id, PartOf(h), h.clinic_name,
      h.sender.empty() ? "" : fmt::format("От / From: {}\n", h.sender), h.purpose,
      h.urgent ? "  — СРОЧНО / URGENT: ответ в течение 24 часов / answer within 24 hours" : "",
      h.consent_id, open_ru, h.request_id, h.consent_id, open_en, h.request_id);
}

std::string IndexHtml(const BundleHeader& h, const std::vector<ManifestFile>& files,
                      const std::vector<IndexSeries>& series) {
  std::string out = HtmlHeader(h, "Медицинские документы / Medical records");
  bool any_doc = false;
  for (const auto& f : files) any_doc = any_doc || f.series.empty();
  if (any_doc) {
    out +=
        "<h2>Документы / Documents</h2>\n<table><tr><th>Документ / Document</th>"
        "<th>Категория / Category</th><th>Страниц / Pages</th><th>Файл / File</th></tr>\n";
    for (const auto& f : files) {
      if (!f.series.empty()) continue;
      out +=
          fmt::format("<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                      Html(f.path), Html(f.title), Html(f.category),
                      f.pages > 0 ? std::to_string(f.pages) : "", Html(f.path));
    }
    out += "</table>\n";
  }
  if (!series.empty()) {
    out +=
        "<h2>Снимки DICOM / DICOM imaging</h2>\n<p>Откройте DICOMDIR программой просмотра "
        "DICOM / Open DICOMDIR in a DICOM viewer.</p>\n";
    if (h.deidentified) {
      out +=
          "<p>Снимки обезличены (DICOM PS3.15, базовый профиль; даты сохранены) / The images "
          "are de-identified (DICOM PS3.15 Basic Profile; dates kept).</p>\n";
    }
    out +=
        "<table><tr><th>Серия / Series</th>"
        "<th>Модальность / Modality</th><th>Описание / Description</th><th>Дата / Date</th>"
        "<th>Снимков здесь / Images here</th></tr>\n";
    for (const auto& s : series) {
      out += fmt::format(
          "<tr><td><a "
          "href=\"DICOM/{}/\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>\n",
          Html(s.label), Html(s.label), Html(s.modality), Html(s.description), Html(s.study_date),
          s.here, s.here == s.total ? "" : fmt::format(" / {}", s.total));
    }
    out += "</table>\n";
  }
  return out + PartsList(h) + "</body></html>\n";
}

std::string Manifest(const BundleHeader& h, const std::vector<ManifestFile>& files) {
  json j = Header(h);
  json list = json::array();
  for (const auto& f : files) {
    json e = {{"path", f.path},   {"doc_id", f.doc_id}, {"category", f.category},
              {"title", f.title}, {"size", f.size},     {"sha256", f.sha256_hex}};
    if (f.series.empty()) {
      e["pages"] = f.pages;
      e["verdict"] = f.verdict;
    } else {
      e["series"] = f.series;
    }
    list.push_back(std::move(e));
  }
  j["files"] = std::move(list);
  return Dump(j);
}

std::string InventoryHtml(const BundleHeader& h, const Inventory& inv) {
  std::string out = HtmlHeader(h, "Перечень документов / List of records");
  out +=
      "<h2>Документы / Documents</h2>\n<table><tr><th>Id</th><th>Категория / Category</th>"
      "<th>Дата / Date</th><th>Страниц / Pages</th><th>Проверка / Check</th></tr>\n";
  for (const auto& d : inv.documents) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       Html(d.doc_id), Html(d.category), Html(d.date), d.pages, Html(d.verdict));
  }
  out +=
      "</table>\n<h2>Исследования / Studies</h2>\n<table><tr><th>Id</th>"
      "<th>Модальность / Modality</th><th>Дата / Date</th><th>Серий / Series</th>"
      "<th>Снимков / Images</th></tr>\n";
  for (const auto& s : inv.studies) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       Html(s.study_id), Html(s.modalities), Html(s.date), s.series, s.images);
  }
  out += "</table>\n";
  if (inv.other_documents > 0 || inv.other_images > 0) {
    out += fmt::format(
        "<p>Не входит в согласие и не перечислено / Not covered by the consent, "
        "not listed: {} document(s), {} image(s).</p>\n",
        inv.other_documents, inv.other_images);
  }
  return out + "</body></html>\n";
}

std::string InventoryManifest(const BundleHeader& h, const Inventory& inv) {
  json j = Header(h);
  j["inventory_only"] = true;
  json docs = json::array(), studies = json::array();
  for (const auto& d : inv.documents) {
    docs.push_back({{"doc_id", d.doc_id},
                    {"category", d.category},
                    {"date", d.date},
                    {"pages", d.pages},
                    {"verdict", d.verdict}});
  }
  for (const auto& s : inv.studies) {
    studies.push_back({{"study_id", s.study_id},
                       {"modalities", s.modalities},
                       {"date", s.date},
                       {"series", s.series},
                       {"images", s.images}});
  }
  j["documents"] = std::move(docs);
  j["studies"] = std::move(studies);
  j["not_covered"] = {{"documents", inv.other_documents}, {"images", inv.other_images}};
  return Dump(j);
}

uint64_t ItemOverhead(const std::string& path, const std::string& title) {
  // Its MANIFEST.json entry (~220 bytes of keys, ids and a hash, plus the path and the title
  // escaped at worst 6 bytes a byte), its INDEX.HTM row likewise, its DICOMDIR record.
  return EntryOverhead(path) + 2 * (400 + 2 * path.size() + 6 * title.size()) + 1024;
}

uint64_t PartOverhead(size_t parts) {
  // README.TXT (~3 KB), the headers of INDEX.HTM, MANIFEST.json and DICOMDIR, each part's line
  // in the part lists of both (name and "holds", ~250 bytes, escaped), four more entries.
  return 24 * 1024 + 2 * 600 * parts + 4 * EntryOverhead("MANIFEST.json") + kArchiveOverhead;
}

}  // namespace dossier::exporter
