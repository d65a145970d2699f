#include "reporters/svg.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace edgebench::reporters::svg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Values beyond this are treated as garbage: their differences would
// overflow the scale arithmetic.
constexpr double kMaxMagnitude = 1e15;

// Estimated advance of one character in the page's sans-serif, per pixel of
// font size (DejaVu Sans is about 0.6; most system fonts are narrower).
constexpr double kCharWidth = 0.6;

constexpr double kTitleSize = 15;
constexpr double kLabelSize = 12;
constexpr double kTickSize = 11;
constexpr double kLegendLine = 18;

bool Usable(double v) { return std::isfinite(v) && std::fabs(v) <= kMaxMagnitude; }

// A UTF-8 sequence's length from its lead byte; 0 when it cannot lead.
int SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

// Whether text[i..i+len) is a well-formed sequence (no overlongs, no
// surrogates, nothing above U+10FFFF).
bool WellFormed(std::string_view text, size_t i, int len) {
  if (i + len > text.size()) return false;
  auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  for (int k = 1; k < len; ++k)
    if ((b(k) & 0xC0) != 0x80) return false;
  if (len == 3) {
    if (b(0) == 0xE0 && b(1) < 0xA0) return false;
    if (b(0) == 0xED && b(1) >= 0xA0) return false;
  } else if (len == 4) {
    if (b(0) == 0xF0 && b(1) < 0x90) return false;
    if (b(0) == 0xF4 && b(1) >= 0x90) return false;
  }
  return true;
}

// Code points in `text` (invalid bytes count one each).
size_t CodePoints(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// At most `max_chars` code points of `text`, with "…" when cut.
std::string Truncate(std::string_view text, size_t max_chars) {
  if (max_chars == 0) return {};
  if (CodePoints(text) <= max_chars) return std::string(text);
  size_t kept = 0, i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (kept == max_chars - 1) break;
      ++kept;
    }
  }
  return std::string(text.substr(0, i)) + "…";
}

// `text` broken at spaces into lines of at most `max_chars` code points,
// at most `max_lines` of them (the last cut with "…" when more remain).
std::vector<std::string> Wrap(std::string_view text, size_t max_chars, size_t max_lines) {
  std::vector<std::string> lines;
  std::string current;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    std::string candidate = current.empty() ? std::string(word) : current + " " + std::string(word);
    if (current.empty() || CodePoints(candidate) <= max_chars) {
      current = std::move(candidate);
    } else {
      lines.push_back(std::move(current));
      current = std::string(word);
    }
  }
  if (!current.empty()) lines.push_back(std::move(current));
  if (lines.size() > max_lines) {
    lines.resize(max_lines);
    lines.back() += " …";
  }
  for (std::string& line : lines) line = Truncate(line, max_chars);
  return lines;
}

double TextWidth(std::string_view text, double font_size) {
  return static_cast<double>(CodePoints(text)) * font_size * kCharWidth;
}

// Appends a coordinate with one decimal ("12.5", "300"): enough for pixels,
// and short, since a timeline holds many thousands of them.
void AppendCoord(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  v = std::round(v * 10) / 10;
  if (v == 0) v = 0;  // no "-0"
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 1);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.remove_suffix(2);
  out.append(s);
}

std::string Coord(double v) {
  std::string s;
  AppendCoord(s, v);
  return s;
}

// Appends ` name="value"` with a numeric value.
void Attr(std::string& out, std::string_view name, double v) {
  out += ' ';
  out += name;
  out += "=\"";
  AppendCoord(out, v);
  out += '"';
}

// Appends ` class="css_class"` (when given) and the trusted `extra`
// attributes.
void ClassAndExtra(std::string& out, std::string_view css_class, std::string_view extra) {
  if (!css_class.empty()) {
    out += " class=\"";
    out += css_class;
    out += '"';
  }
  if (!extra.empty()) {
    out += ' ';
    out += extra;
  }
}

// <text> with escaped content; `extra` holds further (trusted) attributes.
void Text(std::string& out, double x, double y, std::string_view text,
          std::string_view css_class, std::string_view extra = {}) {
  out += "<text";
  Attr(out, "x", x);
  Attr(out, "y", y);
  ClassAndExtra(out, css_class, extra);
  out += '>';
  AppendEscaped(out, text);
  out += "</text>";
}

void TitleElement(std::string& out, std::string_view text) {
  if (text.empty()) return;
  out += "<title>";
  AppendEscaped(out, text);
  out += "</title>";
}

void Segment(std::string& out, double x1, double y1, double x2, double y2,
          std::string_view css_class, std::string_view extra = {}) {
  out += "<line";
  Attr(out, "x1", x1);
  Attr(out, "y1", y1);
  Attr(out, "x2", x2);
  Attr(out, "y2", y2);
  ClassAndExtra(out, css_class, extra);
  out += "/>";
}

// `scroll`: the chart was widened past its nominal width; keep it at its
// size (the figure scrolls) instead of shrinking it to hairline bars.
void OpenSvg(std::string& out, std::string_view id, std::string_view title,
             double width, double height, bool scroll = false) {
  out += "<svg class=\"chart\" data-chart=\"";
  AppendEscaped(out, id);
  out += "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ";
  AppendCoord(out, width);
  out += ' ';
  AppendCoord(out, height);
  out += '"';
  Attr(out, "width", width);
  Attr(out, "height", height);
  if (scroll) out += " style=\"max-width:none\"";
  out += " role=\"img\" aria-label=\"";
  AppendEscaped(out, title);
  out += "\">";
  TitleElement(out, title);
  out += "<rect class=\"bg\" width=\"100%\" height=\"100%\"/>";
  Text(out, 12, 22, title, "title");
}

struct LegendEntry {
  std::string label;
  size_t color;
  bool line;  // a line swatch instead of a square
};

// Lays out legend entries left to right from (x0, y0), wrapping at
// `max_width`; appends them to `out` when it is not null. Returns the height
// used.
double Legend(std::string* out, const std::vector<LegendEntry>& entries,
              double x0, double y0, double max_width) {
  if (entries.empty()) return 0;
  const size_t max_chars =
      std::max<size_t>(12, static_cast<size_t>(max_width / (kLabelSize * kCharWidth)) - 4);
  double x = x0, y = y0;
  for (const LegendEntry& e : entries) {
    std::string shown = Truncate(e.label, max_chars);
    double w = 14 + TextWidth(shown, kLabelSize) + 14;
    if (x > x0 && x + w > x0 + max_width) {
      x = x0;
      y += kLegendLine;
    }
    if (out != nullptr) {
      std::string& o = *out;
      o += "<g class=\"legend-item\">";
      TitleElement(o, e.label);
      if (e.line) {
        o += "<rect";
        Attr(o, "x", x);
        Attr(o, "y", y - 5);
        o += " width=\"10\" height=\"3\" rx=\"1\" fill=\"";
      } else {
        o += "<rect";
        Attr(o, "x", x);
        Attr(o, "y", y - 9);
        o += " width=\"10\" height=\"10\" rx=\"2\" fill=\"";
      }
      o += Color(e.color);
      o += "\"/>";
      Text(o, x + 14, y, shown, "legend");
      o += "</g>";
    }
    x += w;
  }
  return y - y0 + kLegendLine;
}

// Y axis: grid lines, tick labels left of x0, the axis label rotated.
void YAxis(std::string& out, const Axis& axis, double x0, double x1,
           double top, double bottom, std::string_view label) {
  auto map = [&](double v) {
    return bottom - (v - axis.lo) / (axis.hi - axis.lo) * (bottom - top);
  };
  for (double t : axis.ticks) {
    double y = map(t);
    Segment(out, x0, y, x1, y, t == 0 ? "zero" : "grid");
    Text(out, x0 - 6, y + 4, FormatTick(t), "tick", "text-anchor=\"end\"");
  }
  if (!label.empty()) {
    double cy = (top + bottom) / 2;
    std::string extra = "text-anchor=\"middle\" transform=\"rotate(-90 14 " +
                        Coord(cy) + ")\"";
    Text(out, 14, cy, Truncate(label, 40), "axis-label", extra);
  }
}

// Lowers an axis' upper end to `hi`, dropping the ticks above it.
void ClipAxis(Axis& axis, double hi) {
  axis.hi = std::min(axis.hi, hi);
  std::erase_if(axis.ticks, [&](double t) { return t > axis.hi + 1e-9 * std::fabs(axis.hi); });
}

void NoteAt(std::string& out, double x, double y, std::string_view note) {
  Text(out, x, y, note, "note", "text-anchor=\"middle\"");
}

}  // namespace

void AppendEscaped(std::string& out, std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        case '\t':
        case '\n': out += static_cast<char>(c); break;
        default:
          if (c < 0x20 || c == 0x7F)
            out += kReplacement;
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    int len = SequenceLength(c);
    if (len == 0 || !WellFormed(text, i, len)) {
      out += kReplacement;
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) are not valid XML text either.
    if (len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      out += kReplacement;
    } else {
      out.append(text.substr(i, static_cast<size_t>(len)));
    }
    i += static_cast<size_t>(len);
  }
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  AppendEscaped(out, text);
  return out;
}

int DecimalsFor(double v) {
  if (!std::isfinite(v)) return 0;
  double a = std::fabs(v);
  if (a == 0) return 2;
  if (a >= 100) return 0;
  int mag = static_cast<int>(std::floor(std::log10(a)));
  return std::clamp(2 - mag, 0, 6);
}

std::string FormatFixed(double v, int decimals) {
  if (!std::isfinite(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 12), v);
  std::string s(buf);
  if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos)
    s.erase(0, 1);  // "-0.0" -> "0.0"
  return s;
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "–";
  double a = std::fabs(v);
  if (a != 0 && (a >= 1e9 || a < 1e-3)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2e", v);
    return buf;
  }
  return FormatFixed(v, DecimalsFor(v));
}

std::string FormatTick(double v) {
  if (!std::isfinite(v)) return "–";
  double a = std::fabs(v);
  char buf[64];
  if (a >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else if (a >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.6gM", v / 1e6);
  } else if (a >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.6gk", v / 1e3);
  } else if (a < 1e-9) {
    return "0";
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

std::string_view Color(size_t index) {
  // Tableau 10, the yellow darkened for contrast on white.
  static constexpr std::string_view kPalette[] = {
      "#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
      "#76b7b2", "#c9a227", "#ff9da7", "#9c755f", "#6b6ecf"};
  return kPalette[index % std::size(kPalette)];
}

Axis NiceAxis(double lo, double hi, int target) {
  Axis axis;
  if (!Usable(lo) || !Usable(hi)) {
    axis.lo = 0;
    axis.hi = 1;
  } else {
    if (lo > hi) std::swap(lo, hi);
    if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
      double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
      lo -= pad;
      hi += pad;
      if (lo + pad == 0) lo = 0;  // all zeros: [0, 1], not [-1, 1]
    }
    axis.lo = lo;
    axis.hi = hi;
  }
  target = std::clamp(target, 2, 20);
  double raw = (axis.hi - axis.lo) / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  double first = std::floor(axis.lo / step + 1e-9) * step;
  double last = std::ceil(axis.hi / step - 1e-9) * step;
  axis.lo = first;
  axis.hi = last;
  for (int k = 0; k <= 50; ++k) {
    double t = first + k * step;
    if (t > last + step * 1e-6) break;
    if (std::fabs(t) < step * 1e-9) t = 0;
    axis.ticks.push_back(t);
  }
  return axis;
}

std::vector<Point> DownsampleMinMax(std::span<const double> x,
                                    std::span<const double> y,
                                    size_t max_points) {
  size_t n = std::min(x.size(), y.size());
  std::vector<Point> out;
  auto push_gap = [&] {
    if (!out.empty() && !std::isnan(out.back().y)) out.push_back({out.back().x, kNaN});
  };
  max_points = std::max<size_t>(max_points, 4);
  if (n <= max_points) {
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!Usable(x[i])) continue;
      if (!Usable(y[i]))
        push_gap();
      else
        out.push_back({x[i], y[i]});
    }
    return out;
  }
  size_t buckets = max_points / 2;
  out.reserve(max_points + buckets);
  for (size_t b = 0; b < buckets; ++b) {
    size_t i0 = n * b / buckets, i1 = n * (b + 1) / buckets;
    size_t lo = n, hi = n;
    bool gap = false;
    for (size_t i = i0; i < i1; ++i) {
      if (!Usable(x[i])) continue;
      if (!Usable(y[i])) {
        gap = true;
        continue;
      }
      if (lo == n || y[i] < y[lo]) lo = i;
      if (hi == n || y[i] > y[hi]) hi = i;
    }
    if (lo != n) {
      size_t first = std::min(lo, hi), second = std::max(lo, hi);
      out.push_back({x[first], y[first]});
      if (second != first) out.push_back({x[second], y[second]});
    }
    if (gap) push_gap();
  }
  return out;
}

std::string RenderEmptyChart(std::string_view id, std::string_view title,
                             std::string_view note, double width) {
  std::string out;
  double height = 120;
  OpenSvg(out, id, title, width, height);
  NoteAt(out, width / 2, 72, note);
  out += "</svg>";
  return out;
}

// ---- Bars ---------------------------------------------------------------

std::string RenderBarChart(const BarChart& chart) {
  double lo = 0, hi = 0;
  bool any = false;
  for (const BarGroup& g : chart.groups) {
    for (const Bar& b : g.bars) {
      if (!Usable(b.value)) continue;
      any = true;
      lo = std::min(lo, b.value);
      hi = std::max(hi, b.value);
      if (Usable(b.ci_lo) && Usable(b.ci_hi)) {
        lo = std::min(lo, b.ci_lo);
        hi = std::max(hi, b.ci_hi);
      }
    }
  }
  if (!any) return RenderEmptyChart(chart.id, chart.title, chart.empty_note, chart.width);

  const size_t nseries = std::max<size_t>(1, chart.series.size());
  const size_t ngroups = chart.groups.size();
  constexpr double kLeft = 62, kRight = 14, kMinBar = 8;
  // Widen the chart rather than draw hairline bars.
  double width = std::max(chart.width, kLeft + kRight +
                                           static_cast<double>(ngroups) *
                                               (static_cast<double>(nseries) * kMinBar + 12));
  double plot_w = width - kLeft - kRight;

  std::vector<LegendEntry> legend;
  for (size_t s = 0; s < chart.series.size(); ++s) legend.push_back({chart.series[s], s, false});
  double legend_h = Legend(nullptr, legend, kLeft, 46, plot_w);
  double top = 46 + legend_h + 10;
  double plot_h = 230;
  double bottom = top + plot_h;
  bool has_outer = std::any_of(chart.groups.begin(), chart.groups.end(),
                               [](const BarGroup& g) { return !g.outer.empty(); });
  // Group labels wrap onto up to three lines under their group.
  const double group_w = plot_w / static_cast<double>(ngroups);
  const size_t label_fit =
      std::max<size_t>(3, static_cast<size_t>(group_w / (kTickSize * kCharWidth)));
  std::vector<std::vector<std::string>> label_lines;
  size_t max_lines = 0;
  for (const BarGroup& g : chart.groups) {
    label_lines.push_back(Wrap(g.label, label_fit, 3));
    max_lines = std::max(max_lines, label_lines.back().size());
  }
  constexpr double kTickLine = 13;
  const double labels_bottom = bottom + 4 + kTickLine * static_cast<double>(max_lines);
  const double bracket_y = labels_bottom + 6;
  double height = has_outer ? bracket_y + 30 : labels_bottom + 14;

  std::string out;
  out.reserve(4096 + ngroups * nseries * 400);
  OpenSvg(out, chart.id, chart.title, width, height, width > chart.width);
  Legend(&out, legend, kLeft, 46, plot_w);

  Axis axis = NiceAxis(lo, hi, 5);
  auto map = [&](double v) {
    return bottom - (v - axis.lo) / (axis.hi - axis.lo) * plot_h;
  };
  YAxis(out, axis, kLeft, kLeft + plot_w, top, bottom, chart.y_label);

  double bar_w = std::min(48.0, group_w * 0.8 / static_cast<double>(nseries));
  double y0 = map(0);
  for (size_t g = 0; g < ngroups; ++g) {
    const BarGroup& group = chart.groups[g];
    double gx = kLeft + group_w * static_cast<double>(g);
    double bars_x = gx + (group_w - bar_w * static_cast<double>(nseries)) / 2;
    for (size_t s = 0; s < group.bars.size() && s < nseries; ++s) {
      const Bar& b = group.bars[s];
      if (!Usable(b.value)) continue;
      double x = bars_x + bar_w * static_cast<double>(s);
      double yv = map(b.value);
      out += "<g><rect";
      Attr(out, "x", x + 1);
      Attr(out, "y", std::min(yv, y0));
      Attr(out, "width", std::max(1.0, bar_w - 2));
      Attr(out, "height", std::max(0.5, std::fabs(y0 - yv)));
      out += " rx=\"1.5\" fill=\"";
      out += Color(s);
      out += "\">";
      TitleElement(out, b.tooltip);
      out += "</rect>";
      double label_y = std::min(yv, y0);
      if (Usable(b.ci_lo) && Usable(b.ci_hi) && b.ci_hi > b.ci_lo) {
        double cx = x + bar_w / 2, ylo = map(b.ci_lo), yhi = map(b.ci_hi);
        double cap = std::min(5.0, bar_w / 4);
        Segment(out, cx, ylo, cx, yhi, "err");
        Segment(out, cx - cap, ylo, cx + cap, ylo, "err");
        Segment(out, cx - cap, yhi, cx + cap, yhi, "err");
        label_y = std::min(label_y, yhi);
      }
      std::string value = FormatNumber(b.value);
      if (TextWidth(value, 10) <= bar_w + 2)
        Text(out, x + bar_w / 2, label_y - 4, value, "value", "text-anchor=\"middle\"");
      out += "</g>";
    }
    // Configuration label under the group, wrapped to the group's width.
    if (!label_lines[g].empty()) {
      out += "<g>";
      TitleElement(out, group.label);
      for (size_t k = 0; k < label_lines[g].size(); ++k)
        Text(out, gx + group_w / 2, bottom + 15 + kTickLine * static_cast<double>(k),
             label_lines[g][k], "tick", "text-anchor=\"middle\"");
      out += "</g>";
    }
  }
  // Device names, each centred under its run of consecutive groups.
  if (has_outer) {
    size_t g = 0;
    while (g < ngroups) {
      size_t end = g + 1;
      while (end < ngroups && chart.groups[end].outer == chart.groups[g].outer) ++end;
      double x1 = kLeft + group_w * static_cast<double>(g);
      double x2 = kLeft + group_w * static_cast<double>(end);
      Segment(out, x1 + 3, bracket_y, x2 - 3, bracket_y, "bracket");
      size_t fit = static_cast<size_t>(std::max(0.0, (x2 - x1) / (kLabelSize * kCharWidth)));
      out += "<g>";
      TitleElement(out, chart.groups[g].outer);
      Text(out, (x1 + x2) / 2, bracket_y + 16, Truncate(chart.groups[g].outer, fit), "outer",
           "text-anchor=\"middle\"");
      out += "</g>";
      if (g > 0) Segment(out, x1, top, x1, bracket_y + 4, "sep");
      g = end;
    }
  }
  Segment(out, kLeft, bottom, kLeft + plot_w, bottom, "axis");
  out += "</svg>";
  return out;
}

// ---- Lines ----------------------------------------------------------------

std::string RenderLineChart(const LineChart& chart) {
  struct Prepared {
    std::vector<std::vector<Point>> points;  // per line
    double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
    bool any = false;
    bool x_clipped = false, y_clipped = false;
  };
  std::vector<Prepared> prepared(chart.panels.size());
  bool any = false;
  for (size_t p = 0; p < chart.panels.size(); ++p) {
    const LinePanel& panel = chart.panels[p];
    Prepared& pp = prepared[p];
    auto extend = [&](double x, double y) {
      if (!pp.any) {
        pp.xlo = pp.xhi = x;
        pp.ylo = pp.yhi = y;
        pp.any = true;
        return;
      }
      pp.xlo = std::min(pp.xlo, x);
      pp.xhi = std::max(pp.xhi, x);
      pp.ylo = std::min(pp.ylo, y);
      pp.yhi = std::max(pp.yhi, y);
    };
    for (const Line& line : panel.lines) {
      pp.points.push_back(DownsampleMinMax(line.x, line.y, chart.max_points));
      for (const Point& pt : pp.points.back())
        if (!std::isnan(pt.y)) extend(pt.x, pt.y);
      if (line.y_lo.size() == line.x.size() && line.y_hi.size() == line.x.size()) {
        for (size_t i = 0; i < line.x.size(); ++i) {
          if (!Usable(line.x[i])) continue;
          if (Usable(line.y_lo[i])) extend(line.x[i], line.y_lo[i]);
          if (Usable(line.y_hi[i])) extend(line.x[i], line.y_hi[i]);
        }
      }
    }
    if (pp.any && panel.y_from_zero) {
      pp.ylo = std::min(pp.ylo, 0.0);
      pp.yhi = std::max(pp.yhi, 0.0);
    }
    if (pp.any && panel.x_max > 0 && pp.xhi > panel.x_max) {
      pp.xhi = panel.x_max;
      pp.x_clipped = true;
    }
    if (pp.any && panel.y_max > 0 && pp.yhi > panel.y_max) {
      pp.yhi = panel.y_max;
      pp.y_clipped = true;
    }
    any = any || pp.any;
  }
  if (!any) return RenderEmptyChart(chart.id, chart.title, chart.empty_note, chart.width);

  constexpr double kLeft = 62, kRight = 16;
  const double width = chart.width;
  const double plot_w = width - kLeft - kRight;

  // First pass: heights.
  struct Layout {
    double title_y, legend_y, top, bottom;
  };
  std::vector<Layout> layout(chart.panels.size());
  std::vector<std::vector<LegendEntry>> legends(chart.panels.size());
  double y = 34;
  for (size_t p = 0; p < chart.panels.size(); ++p) {
    const LinePanel& panel = chart.panels[p];
    for (size_t l = 0; l < panel.lines.size(); ++l) {
      size_t color = panel.lines[l].color == static_cast<size_t>(-1) ? l : panel.lines[l].color;
      legends[p].push_back({panel.lines[l].label, color, true});
    }
    Layout& L = layout[p];
    L.title_y = y + 16;
    if (!panel.title.empty()) y += 22;
    L.legend_y = y + 14;
    y += Legend(nullptr, legends[p], kLeft, L.legend_y, plot_w) + 8;
    L.top = y;
    L.bottom = y + chart.panel_height;
    y = L.bottom + 42;
  }
  double height = y + 4;

  std::string out;
  size_t total_points = 0;
  for (const Prepared& pp : prepared)
    for (const auto& pts : pp.points) total_points += pts.size();
  out.reserve(8192 + total_points * 14);
  OpenSvg(out, chart.id, chart.title, width, height);

  for (size_t p = 0; p < chart.panels.size(); ++p) {
    const LinePanel& panel = chart.panels[p];
    const Prepared& pp = prepared[p];
    const Layout& L = layout[p];
    if (!panel.title.empty()) Text(out, kLeft, L.title_y, panel.title, "panel-title");
    Legend(&out, legends[p], kLeft, L.legend_y, plot_w);
    double plot_h = L.bottom - L.top;
    if (!pp.any) {
      out += "<rect class=\"frame\"";
      Attr(out, "x", kLeft);
      Attr(out, "y", L.top);
      Attr(out, "width", plot_w);
      Attr(out, "height", plot_h);
      out += "/>";
      NoteAt(out, kLeft + plot_w / 2, L.top + plot_h / 2, chart.empty_note);
      continue;
    }
    Axis xa = NiceAxis(pp.xlo, pp.xhi, std::max(3, static_cast<int>(plot_w / 90)));
    Axis ya = NiceAxis(pp.ylo, pp.yhi, 5);
    if (pp.x_clipped) ClipAxis(xa, panel.x_max);
    if (pp.y_clipped) ClipAxis(ya, panel.y_max);
    auto mx = [&](double v) { return (v - xa.lo) / (xa.hi - xa.lo) * plot_w; };
    auto my = [&](double v) { return plot_h - (v - ya.lo) / (ya.hi - ya.lo) * plot_h; };

    YAxis(out, ya, kLeft, kLeft + plot_w, L.top, L.bottom, panel.y_label);
    for (double t : xa.ticks) {
      double x = kLeft + mx(t);
      Segment(out, x, L.bottom, x, L.bottom + 4, "axis");
      Text(out, x, L.bottom + 17, FormatTick(t), "tick", "text-anchor=\"middle\"");
    }
    Segment(out, kLeft, L.bottom, kLeft + plot_w, L.bottom, "axis");
    Text(out, kLeft + plot_w / 2, L.bottom + 34, chart.x_label, "axis-label",
         "text-anchor=\"middle\"");
    if (pp.x_clipped || pp.y_clipped) {
      std::string note = pp.x_clipped ? "x axis clipped at " + FormatNumber(xa.hi)
                                      : "y axis clipped at " + FormatNumber(ya.hi);
      Text(out, kLeft + plot_w, L.bottom + 34, note, "note-small", "text-anchor=\"end\"");
    }

    // The plot area is a nested viewport: it clips lines to the axes without
    // needing document-unique clipPath ids.
    out += "<svg class=\"plot\"";
    Attr(out, "x", kLeft);
    Attr(out, "y", L.top - 4);
    Attr(out, "width", plot_w);
    Attr(out, "height", plot_h + 8);
    out += " overflow=\"hidden\"><g transform=\"translate(0 4)\">";
    for (size_t l = 0; l < panel.lines.size(); ++l) {
      const Line& line = panel.lines[l];
      const std::vector<Point>& pts = pp.points[l];
      if (pts.empty()) continue;
      std::string_view color = Color(line.color == static_cast<size_t>(-1) ? l : line.color);
      out += "<g><path class=\"line\" stroke=\"";
      out += color;
      out += "\" d=\"";
      bool pen_down = false;
      size_t drawn = 0;
      for (const Point& pt : pts) {
        if (std::isnan(pt.y)) {
          pen_down = false;
          continue;
        }
        out += pen_down ? ' ' : 'M';
        AppendCoord(out, mx(pt.x));
        out += ',';
        AppendCoord(out, my(pt.y));
        pen_down = true;
        ++drawn;
      }
      // A lone point draws nothing as a path: give it a zero-length segment
      // (round caps make it a dot).
      if (drawn == 1) out += " h0.01";
      out += "\">";
      TitleElement(out, line.label);
      out += "</path>";
      bool errors = line.y_lo.size() == line.x.size() && line.y_hi.size() == line.x.size();
      if (line.markers || errors) {
        size_t n = std::min(line.x.size(), line.y.size());
        for (size_t i = 0; i < n && i < 500; ++i) {
          if (!Usable(line.x[i]) || !Usable(line.y[i])) continue;
          double cx = mx(line.x[i]), cy = my(line.y[i]);
          if (errors && Usable(line.y_lo[i]) && Usable(line.y_hi[i]) &&
              line.y_hi[i] > line.y_lo[i]) {
            double ylo = my(line.y_lo[i]), yhi = my(line.y_hi[i]);
            std::string extra = "stroke=\"" + std::string(color) + "\"";
            Segment(out, cx, ylo, cx, yhi, "err-line", extra);
            Segment(out, cx - 3, ylo, cx + 3, ylo, "err-line", extra);
            Segment(out, cx - 3, yhi, cx + 3, yhi, "err-line", extra);
          }
          if (line.markers) {
            out += "<circle";
            Attr(out, "cx", cx);
            Attr(out, "cy", cy);
            out += " r=\"3.5\" fill=\"";
            out += color;
            out += "\" class=\"marker\">";
            TitleElement(out, i < line.tooltips.size() ? line.tooltips[i] : line.label);
            out += "</circle>";
          }
        }
      }
      out += "</g>";
    }
    out += "</g></svg>";
  }
  out += "</svg>";
  return out;
}

}  // namespace edgebench::reporters::svg
