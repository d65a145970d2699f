// reporters/svg.h — chart primitives for the HTML report: text escaping,
// number formatting, nice axis ticks, min/max downsampling, and three chart
// kinds rendered as self-contained inline <svg> elements (grouped bars with
// error bars, lines/scatter with optional error bars, stacked line panels).
//
// Charts take plain values (labels and numbers), never report rows: html.cc
// decides what to draw, this file only how. Every string handed in is user
// text (device names, model labels) and is escaped here; non-finite numbers
// are skipped (a gap in a line, no bar), never printed. Colours come from a
// fixed palette indexed by series. Styling that CSS can do (fonts, colours of
// axes and grid) is left to the page's stylesheet through class names.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgebench::reporters::svg {

// Escapes text for HTML/SVG element content and quoted attribute values
// (& < > " '). Invalid UTF-8 and control characters other than \t and \n
// become U+FFFD, so the output is always valid UTF-8 and valid XML text.
std::string Escape(std::string_view text);
// Appends Escape(text) to `out`.
void AppendEscaped(std::string& out, std::string_view text);

// A number for people: 3 significant digits, no exponent between 1e-3 and
// 1e9, integers from 100 up ("1234", "25.3", "0.512"); "–" for NaN/inf.
std::string FormatNumber(double v);
// `v` with `decimals` digits after the point; "–" for NaN/inf.
std::string FormatFixed(double v, int decimals);
// How many decimals FormatNumber would use for `v`: the precision to print
// a median and its confidence interval alike.
int DecimalsFor(double v);
// Compact axis tick: "0", "250", "1.5k", "2M", "0.25".
std::string FormatTick(double v);

// The colour of series `index` (cycles through a 10-colour palette with
// enough contrast on white).
std::string_view Color(size_t index);

// Ticks for a linear axis covering [lo, hi]: a 1-2-5 step, about `target`
// ticks, the range widened to whole steps. Non-finite or empty input gives
// [0, 1].
struct Axis {
  double lo = 0;
  double hi = 1;
  std::vector<double> ticks;
};
Axis NiceAxis(double lo, double hi, int target = 5);

struct Point {
  double x = 0;
  double y = 0;  // NaN: a gap (the line breaks here)
};

// At most `max_points` points of the polyline (x[i], y[i]): when there are
// more, the index range is cut into max_points / 2 buckets and each keeps
// its smallest and largest y, in order, so spikes survive. Points whose x is
// not finite are dropped; a y that is not finite (or beyond ±1e15) becomes a
// gap. Uses min(x.size(), y.size()) points.
std::vector<Point> DownsampleMinMax(std::span<const double> x,
                                    std::span<const double> y,
                                    size_t max_points);

// ---- Grouped bar chart ------------------------------------------------

struct Bar {
  double value = 0;   // NaN: no bar
  double ci_lo = 0;   // error bar; drawn when both are finite and differ
  double ci_hi = 0;
  std::string tooltip;  // <title> text
};

struct BarGroup {
  std::string label;  // under the group (a configuration)
  std::string outer;  // second axis line, merged over consecutive groups (a device)
  std::vector<Bar> bars;  // one per BarChart::series (missing: no bar)
};

struct BarChart {
  std::string id;     // data-chart attribute
  std::string title;
  std::string y_label;
  std::vector<std::string> series;  // legend, colour by index
  std::vector<BarGroup> groups;
  std::string empty_note = "no data";
  double width = 640;
};

std::string RenderBarChart(const BarChart& chart);

// ---- Line / scatter chart -----------------------------------------------

struct Line {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  // Optional error bars, same length as x when present.
  std::vector<double> y_lo;
  std::vector<double> y_hi;
  bool markers = true;  // a dot per point (off for dense series)
  std::vector<std::string> tooltips;  // per point, optional
  size_t color = static_cast<size_t>(-1);  // palette index; -1: by position
};

struct LinePanel {
  std::string title;  // above the panel (stacked charts); may be empty
  std::string y_label;
  std::vector<Line> lines;
  bool y_from_zero = false;
  double y_max = 0;  // > 0: clip the y axis here (and say so)
  double x_max = 0;  // > 0: clip the x axis here
};

struct LineChart {
  std::string id;
  std::string title;
  std::string x_label;
  std::vector<LinePanel> panels;  // stacked top to bottom, x axes separate
  std::string empty_note = "no data";
  double width = 640;
  double panel_height = 240;
  size_t max_points = 4000;  // per line, see DownsampleMinMax
};

std::string RenderLineChart(const LineChart& chart);

// A chart that has nothing to draw: title and a centred `note`.
std::string RenderEmptyChart(std::string_view id, std::string_view title,
                             std::string_view note, double width = 640);

}  // namespace edgebench::reporters::svg
