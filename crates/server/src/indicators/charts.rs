//! Bar charts of the indicators, rendered on the server as SVG by
//! `plotters` (SVG backend only: text is written as SVG `<text>`, laid out
//! by estimate, so no font file is read).

use ccis_node::indicators::Figure;
use plotters::prelude::*;

/// Width of a chart, in pixels.
const WIDTH: u32 = 640;
/// Height of one bar's band.
const BAND: u32 = 28;
/// Room for the category labels on the left.
const LABELS: u32 = 210;
/// The bars' colour: dark blue, contrast over 7:1 on white.
const BAR: RGBColor = RGBColor(0x1f, 0x4e, 0x79);

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart {name}: {message}")]
pub struct ChartError {
    name: String,
    message: String,
}

/// The length of a row's bar: its count, or in a figure of durations its
/// median in whole days (rounded up, so that a median under a day shows).
fn value(figure: &Figure, row: &ccis_node::indicators::Row) -> u64 {
    if figure.has_medians() {
        // A median is a few thousand days at most: the cast cannot truncate.
        row.median_days.map_or(0, |d| d.max(0.0).ceil() as u64)
    } else {
        row.count
    }
}

/// A horizontal bar chart of `figure`, one bar per row, as an SVG document.
pub fn bar_chart(figure: &Figure) -> Result<String, ChartError> {
    let fail = |e: &dyn std::fmt::Display| ChartError {
        name: figure.name.clone(),
        message: e.to_string(),
    };
    let bands = figure.rows.len().max(1);
    let height = 70 + BAND * u32::try_from(bands.min(1000)).unwrap_or(1000);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        draw(&root, figure, bands).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(
    root: &Area<'_>,
    figure: &Figure,
    bands: usize,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let max = figure
        .rows
        .iter()
        .map(|r| value(figure, r))
        .max()
        .unwrap_or(0)
        .max(1);
    let labels: Vec<String> = figure.rows.iter().map(|r| short(&r.label)).collect();
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(LABELS)
        .build_cartesian_2d(0u64..max + 1, (0..bands).into_segmented())?;
    // The first row (the largest) at the top: band `bands - 1 - i` is row i.
    let label_of = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(band) => bands
            .checked_sub(band + 1)
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bands)
        .y_label_formatter(&label_of)
        .x_labels(usize::try_from(max.min(10)).unwrap_or(10) + 1)
        .x_label_formatter(&|v| format!("{v}"))
        .x_desc(if figure.has_medians() {
            "median days"
        } else {
            "records"
        })
        .label_style(("sans-serif", 14).into_font().color(&BLACK))
        .axis_desc_style(("sans-serif", 14).into_font().color(&BLACK))
        .draw()?;
    chart.draw_series(figure.rows.iter().enumerate().map(|(i, r)| {
        let mut bar = Rectangle::new(
            [
                (0, SegmentValue::Exact(i)),
                (value(figure, r), SegmentValue::Exact(i + 1)),
            ],
            BAR.filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        bar
    }))?;
    Ok(())
}

/// A label cut to fit the label area.
fn short(label: &str) -> String {
    const MAX: usize = 26;
    if label.chars().count() <= MAX {
        return label.to_owned();
    }
    let cut: String = label.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccis_node::indicators::Row;

    fn figure(labels: &[(&str, u64)]) -> Figure {
        Figure {
            name: "own-by-theme".into(),
            title: "Records by theme".into(),
            counted: String::new(),
            total: 3,
            rows: labels
                .iter()
                .map(|(l, c)| Row {
                    key: (*l).into(),
                    label: (*l).into(),
                    count: *c,
                    median_days: None,
                    concept: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_chart_is_svg_with_its_labels_as_text() {
        let svg = bar_chart(&figure(&[("employment", 3), ("housing", 1)])).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("\nemployment\n</text>"), "{svg}");
        assert!(svg.contains("\nhousing\n</text>"), "{svg}");
        assert!(svg.contains("<rect"), "{svg}");
    }

    #[test]
    fn labels_are_escaped_in_the_svg() {
        let svg = bar_chart(&figure(&[("<script>alert(1)</script> & co", 2)])).unwrap();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }

    #[test]
    fn a_figure_of_durations_draws_its_medians_in_days() {
        let mut f = figure(&[("national validator", 4), ("European validator", 1)]);
        f.name = "median-days-to-decision".into();
        f.rows[0].median_days = Some(12.5);
        f.rows[1].median_days = None;
        assert_eq!(value(&f, &f.rows[0]), 13);
        assert_eq!(value(&f, &f.rows[1]), 0);
        let svg = bar_chart(&f).unwrap();
        assert!(svg.contains("median days"), "{svg}");
    }

    #[test]
    fn an_empty_figure_still_draws() {
        assert!(bar_chart(&figure(&[])).unwrap().contains("<svg"));
    }
}
