//! Small charts drawn as inline SVG: stacked columns, horizontal bars, a
//! histogram with a marker, and shares of a whole. No charting library:
//! the geometry is a few plain functions (tested natively), the components
//! only draw it. Every bar carries `data-value` (and what it stands for)
//! so tests can read the numbers the chart shows.

use leptos::prelude::*;

/// One series of a chart: its key (for `data-*`), label and colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Series {
    pub key: &'static str,
    pub label: &'static str,
    pub color: &'static str,
}

/// A value axis from 0: its top and the distance between gridlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub max: u64,
    pub step: u64,
}

/// The smallest axis with 1, 2 or 5 × 10ⁿ steps, at most five of them,
/// that reaches `max` (0 gets an axis to 1).
pub fn axis(max: u64) -> Axis {
    let mut magnitude = 1u64;
    loop {
        for step in [1, 2, 5].map(|m| m * magnitude) {
            if max.div_ceil(step) <= 5 {
                return Axis {
                    max: max.div_ceil(step).max(1) * step,
                    step,
                };
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// `value` as a length, where `axis.max` is `full`.
pub fn scale(value: u64, axis: Axis, full: f64) -> f64 {
    value as f64 / axis.max as f64 * full
}

/// Which of `n` column labels to print so that at most `room` show, always
/// including the first and the last.
pub fn label_every(n: usize, room: usize) -> usize {
    n.div_ceil(room.max(1)).max(1)
}

/// A share of a whole, in percent, rounded.
pub fn percent(part: u64, whole: u64) -> u64 {
    (part * 100 + whole / 2).checked_div(whole).unwrap_or(0)
}

fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// Widths of the drawing, in SVG units: about the pixels it gets on a
/// laptop screen, so the 11-unit text reads as 11 px.
const WIDE: f64 = 1100.0;
const W: f64 = 560.0;
const FONT: &str = "11";

/// Columns of stacked values, e.g. handoffs per day by mechanism.
/// `values[i][s]` is column `i`'s value of series `s`.
#[component]
pub fn StackedColumns(
    labels: Vec<String>,
    series: Vec<Series>,
    values: Vec<Vec<u64>>,
    /// Describes the chart for screen readers.
    summary: String,
) -> impl IntoView {
    let (h, top, bottom, left) = (220.0, 10.0, 24.0, 32.0);
    let plot_h = h - top - bottom;
    let totals: Vec<u64> = values.iter().map(|v| v.iter().sum()).collect();
    let axis = axis(totals.iter().copied().max().unwrap_or(0));
    let slot = (WIDE - left) / labels.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let every = label_every(labels.len(), 8);
    let last = labels.len().saturating_sub(1);
    let frame = Frame {
        axis,
        left,
        right: WIDE,
        top,
        plot_h,
    };
    let columns = labels
        .into_iter()
        .zip(values)
        .zip(totals)
        .enumerate()
        .map(|(i, ((label, column), total))| {
            let x = left + slot * i as f64 + (slot - bar) / 2.0;
            let mut y = top + plot_h;
            let segments = column
                .iter()
                .zip(&series)
                .filter(|(v, _)| **v > 0)
                .map(|(&value, s)| {
                    let height = scale(value, axis, plot_h);
                    y -= height;
                    view! {
                        <rect x=n(x) y=n(y) width=n(bar) height=n(height) fill=s.color
                            data-series=s.key data-value=value.to_string()>
                            <title>{format!("{label}: {value} {}", s.label.to_lowercase())}</title>
                        </rect>
                    }
                })
                .collect_view();
            // Counted back from the last column, which is always labelled.
            let show = (last - i).is_multiple_of(every);
            view! {
                <g data-column=label.clone() data-total=total.to_string()>
                    {segments}
                    {show.then(|| view! {
                        <text x=n(x + bar / 2.0) y=n(h - 8.0) font-size=FONT text-anchor="middle" fill="#6b7280">
                            {short_day(&label)}
                        </text>
                    })}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {WIDE} {h}") role="img" aria-label=summary>
            <Gridlines frame/>
            {columns}
        </svg>
        <Legend series/>
    }
}

/// "2026-11-21" → "11-21"; other labels stay.
fn short_day(label: &str) -> String {
    match label.len() {
        10 => label[5..].to_string(),
        _ => label.to_string(),
    }
}

/// Where the plot sits and what its value axis is.
#[derive(Clone, Copy)]
struct Frame {
    axis: Axis,
    left: f64,
    right: f64,
    top: f64,
    plot_h: f64,
}

/// Horizontal gridlines with their values.
#[component]
fn Gridlines(frame: Frame) -> impl IntoView {
    let Frame {
        axis,
        left,
        right,
        top,
        plot_h,
    } = frame;
    (0..=axis.max / axis.step)
        .map(|k| {
            let value = k * axis.step;
            let y = top + plot_h - scale(value, axis, plot_h);
            view! {
                <line x1=n(left) x2=n(right) y1=n(y) y2=n(y) stroke="#e5e7eb"/>
                <text x=n(left - 6.0) y=n(y + 4.0) font-size=FONT text-anchor="end" fill="#6b7280">
                    {value.to_string()}
                </text>
            }
        })
        .collect_view()
}

/// One horizontal bar: a label, its value, and what `data-key` to give it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub key: String,
    pub label: String,
    pub value: u64,
    /// Printed after the value, e.g. "of 3".
    pub note: String,
    pub color: &'static str,
}

/// Labelled horizontal bars, longest value first as given.
#[component]
pub fn Bars(bars: Vec<Bar>, summary: String) -> impl IntoView {
    let (row, label_w, value_w) = (26.0, 170.0, 90.0);
    let h = row * bars.len().max(1) as f64;
    let axis = Axis {
        max: bars.iter().map(|b| b.value).max().unwrap_or(0).max(1),
        step: 1,
    };
    let room = W - label_w - value_w;
    let rows = bars
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let y = row * i as f64;
            let width = scale(b.value, axis, room).max(if b.value > 0 { 2.0 } else { 0.0 });
            view! {
                <g data-key=b.key.clone() data-value=b.value.to_string()>
                    <text x=n(label_w - 8.0) y=n(y + 17.0) font-size="12" text-anchor="end" fill="#111827">
                        {b.label.clone()}
                    </text>
                    <rect x=n(label_w) y=n(y + 5.0) width=n(width) height="16" rx="3" fill=b.color>
                        <title>{format!("{}: {}", b.label, b.value)}</title>
                    </rect>
                    <text x=n(label_w + width + 6.0) y=n(y + 17.0) font-size="12" fill="#374151">
                        {if b.note.is_empty() { b.value.to_string() } else { format!("{} {}", b.value, b.note) }}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {W} {h}") role="img" aria-label=summary>{rows}</svg>
    }
}

/// Bins with counts over 0–1, with an optional marker (the threshold).
#[component]
pub fn Histogram(
    /// (from, to, count) per bin, in order.
    bins: Vec<(f64, f64, u64)>,
    marker: Option<(f64, String)>,
    color: &'static str,
    summary: String,
) -> impl IntoView {
    let (h, top, bottom, left) = (200.0, 18.0, 24.0, 32.0);
    let plot_h = h - top - bottom;
    let plot_w = W - left - 8.0;
    let axis = axis(bins.iter().map(|b| b.2).max().unwrap_or(0));
    let x_of = |v: f64| left + v.clamp(0.0, 1.0) * plot_w;
    let frame = Frame {
        axis,
        left,
        right: W,
        top,
        plot_h,
    };
    let bars = bins
        .iter()
        .map(|&(from, to, count)| {
            let height = scale(count, axis, plot_h);
            let x = x_of(from) + 1.0;
            let width = (x_of(to) - x_of(from) - 2.0).max(1.0);
            view! {
                <rect x=n(x) y=n(top + plot_h - height) width=n(width) height=n(height) fill=color
                    data-from=format!("{from:.1}") data-value=count.to_string()>
                    <title>{format!("{from:.1}–{to:.1}: {count}")}</title>
                </rect>
            }
        })
        .collect_view();
    let ticks = (0..=5)
        .map(|k| {
            let v = f64::from(k) / 5.0;
            view! {
                <text x=n(x_of(v)) y=n(h - 8.0) font-size=FONT text-anchor="middle" fill="#6b7280">
                    {format!("{v:.1}")}
                </text>
            }
        })
        .collect_view();
    let marker = marker.map(|(at, label)| {
        let x = x_of(at);
        view! {
            <g data-marker=format!("{at:.2}")>
                <line x1=n(x) x2=n(x) y1=n(top - 4.0) y2=n(top + plot_h) stroke="#111827" stroke-dasharray="4 3"/>
                <text x=n(x - 4.0) y=n(top - 6.0) font-size=FONT text-anchor="end" fill="#111827">{label}</text>
            </g>
        }
    });
    view! {
        <svg viewBox=format!("0 0 {W} {h}") role="img" aria-label=summary>
            <Gridlines frame/>
            {bars}
            {ticks}
            {marker}
        </svg>
    }
}

/// Parts of a whole as one bar split by share, with a legend of counts
/// and percentages.
#[component]
pub fn Shares(parts: Vec<(Series, u64)>, summary: String) -> impl IntoView {
    let h = 34.0;
    let whole: u64 = parts.iter().map(|(_, v)| v).sum();
    let mut x = 0.0;
    let segments = parts
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(s, value)| {
            let width = *value as f64 / whole.max(1) as f64 * W;
            let at = x;
            x += width;
            view! {
                <rect x=n(at) y="0" width=n(width) height=n(h) fill=s.color
                    data-series=s.key data-value=value.to_string()>
                    <title>{format!("{}: {value}", s.label)}</title>
                </rect>
            }
        })
        .collect_view();
    let legend = parts
        .into_iter()
        .map(|(s, value)| {
            view! {
                <li data-series=s.key data-value=value.to_string()>
                    <span class="swatch" style=format!("background:{}", s.color)></span>
                    {format!("{} {value} ({}%)", s.label, percent(value, whole))}
                </li>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {W} {h}") role="img" aria-label=summary class="shares">
            <rect x="0" y="0" width=n(W) height=n(h) fill="#f3f4f6"/>
            {segments}
        </svg>
        <ul class="legend">{legend}</ul>
    }
}

#[component]
pub fn Legend(series: Vec<Series>) -> impl IntoView {
    view! {
        <ul class="legend">
            {series.into_iter().map(|s| view! {
                <li><span class="swatch" style=format!("background:{}", s.color)></span>{s.label}</li>
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_use_round_steps_and_reach_the_maximum() {
        assert_eq!(axis(0), Axis { max: 1, step: 1 });
        assert_eq!(axis(3), Axis { max: 3, step: 1 });
        assert_eq!(axis(5), Axis { max: 5, step: 1 });
        assert_eq!(axis(6), Axis { max: 6, step: 2 });
        assert_eq!(axis(9), Axis { max: 10, step: 2 });
        assert_eq!(axis(11), Axis { max: 15, step: 5 });
        assert_eq!(axis(26), Axis { max: 30, step: 10 });
        assert_eq!(
            axis(480),
            Axis {
                max: 500,
                step: 100
            }
        );
        for max in 0..2_000 {
            let a = axis(max);
            assert!(a.max >= max && a.max / a.step <= 5, "{max}: {a:?}");
        }
    }

    #[test]
    fn scales_labels_and_shares() {
        let a = axis(8); // 0–8 by 2
        assert_eq!(a, Axis { max: 8, step: 2 });
        assert_eq!(scale(4, a, 200.0), 100.0);
        assert_eq!(label_every(30, 8), 4);
        assert_eq!(label_every(3, 8), 1);
        assert_eq!(label_every(0, 8), 1);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(short_day("2026-11-21"), "11-21");
    }
}
