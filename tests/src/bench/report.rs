//! The results: collecting samples per benchmark, the printed table and the JSON file.

use std::fmt::Write as _;

use super::stats::{Direction, Summary, geomean, ratio};

/// Which column a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Debian's Linux.
    Linux,
    /// Our kernel.
    Ours,
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Benchmark name.
    pub name: String,
    /// Unit of both columns.
    pub unit: String,
    /// Linux's figures, if any.
    pub linux: Option<Summary>,
    /// Our figures, if any.
    pub ours: Option<Summary>,
    /// A footnote mark and its text, e.g. for a stand-in marker.
    pub note: Option<String>,
}

impl Row {
    /// Latency or bandwidth, from the unit.
    pub fn direction(&self) -> Direction {
        Direction::of_unit(&self.unit)
    }

    /// The ratio of medians (>1: we are faster), when both columns exist.
    pub fn ratio(&self) -> Option<f64> {
        ratio(self.linux.as_ref()?.median, self.ours.as_ref()?.median, self.direction())
    }
}

/// Samples gathered across runs, per benchmark, in first-seen order.
#[derive(Default, Debug)]
pub struct Collected {
    entries: Vec<(String, String, Vec<f64>, Vec<f64>)>,
}

impl Collected {
    /// Adds one sample of `name` (in `unit`) to `side`'s column.
    pub fn add(&mut self, side: Side, name: &str, unit: &str, value: f64) {
        let i = match self.entries.iter().position(|e| e.0 == name) {
            Some(i) => i,
            None => {
                self.entries.push((name.to_string(), unit.to_string(), Vec::new(), Vec::new()));
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[i];
        match side {
            Side::Linux => e.2.push(value),
            Side::Ours => e.3.push(value),
        }
    }

    /// The rows, in first-seen order.
    pub fn rows(&self) -> Vec<Row> {
        self.entries
            .iter()
            .map(|(name, unit, l, o)| Row {
                name: name.clone(),
                unit: unit.clone(),
                linux: Summary::of(l),
                ours: Summary::of(o),
                note: None,
            })
            .collect()
    }
}

/// The geometric mean of the ratios of rows with both columns, and how many rows that is.
pub fn overall(rows: &[Row]) -> (Option<f64>, usize) {
    let ratios: Vec<f64> = rows.iter().filter_map(Row::ratio).collect();
    (geomean(&ratios), ratios.len())
}

/// Problems as printed: identical messages merged, with the runs they happened in
/// (`msg (runs 1, 2)`); a message without a run is kept as it is.
pub fn group_problems(list: &[(Option<usize>, String)]) -> Vec<String> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (run, msg) in list {
        let i = match groups.iter().position(|g| g.0 == msg.as_str()) {
            Some(i) => i,
            None => {
                groups.push((msg.as_str(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[i].1.extend(run);
    }
    groups
        .into_iter()
        .map(|(msg, runs)| match runs.len() {
            0 => msg.to_string(),
            1 => format!("{msg} (run {})", runs[0]),
            _ => {
                let runs: Vec<String> = runs.iter().map(usize::to_string).collect();
                format!("{msg} (runs {})", runs.join(", "))
            }
        })
        .collect()
}

/// A number to about 3–4 significant digits.
pub fn num(v: f64) -> String {
    let a = v.abs();
    // Thresholds just below the powers of ten, so that 99.97 prints as "100", not "100.0".
    if a >= 99.95 {
        format!("{v:.0}")
    } else if a >= 9.995 {
        format!("{v:.1}")
    } else if a >= 0.9995 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// `median (min–max)`, or `not yet` for a missing column.
pub fn cell(s: Option<&Summary>) -> String {
    match s {
        Some(s) => format!("{} ({}–{})", num(s.median), num(s.min), num(s.max)),
        None => "not yet".to_string(),
    }
}

/// The printed table: one row per benchmark, a geometric mean at the end, then the footnotes.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let w = rows
        .iter()
        .map(|r| r.name.len() + r.note.as_ref().map_or(0, |_| 1))
        .max()
        .unwrap_or(9)
        .max(9);
    let lw = rows.iter().map(|r| cell(r.linux.as_ref()).chars().count()).max().unwrap_or(0).max(22);
    let ow = rows.iter().map(|r| cell(r.ours.as_ref()).chars().count()).max().unwrap_or(0).max(21);
    let _ = writeln!(
        out,
        "{:<w$}  {:<5}  {:<lw$}  {:<ow$}  ratio",
        "benchmark", "unit", "Linux median (min–max)", "ours median (min–max)"
    );
    let mut notes = Vec::new();
    for r in rows {
        let mut name = r.name.clone();
        if let Some(n) = &r.note {
            name.push('*');
            notes.push(format!("* {}: {n}", r.name));
        }
        let ratio = r.ratio().map_or("—".to_string(), |x| format!("{x:.2}"));
        let (l, o) = (cell(r.linux.as_ref()), cell(r.ours.as_ref()));
        let _ = writeln!(out, "{name:<w$}  {:<5}  {l:<lw$}  {o:<ow$}  {ratio}", r.unit);
    }
    let (g, n) = overall(rows);
    let g = g.map_or("—".to_string(), |g| format!("{g:.2}"));
    let label = format!("geometric mean over {n} benchmark(s) with both columns");
    let _ = writeln!(out, "{label:<width$}  {g}", width = w + lw + ow + 11);
    let _ = writeln!(
        out,
        "ratio: Linux÷ours for latencies, ours÷Linux for rates (MB/s, IO/s); >1 means we are \
         faster."
    );
    for n in notes {
        let _ = writeln!(out, "{n}");
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number (`null` for NaN or infinity).
fn json_num(v: f64) -> String {
    if v.is_finite() { format!("{v}") } else { "null".to_string() }
}

fn json_summary(s: Option<&Summary>) -> String {
    match s {
        None => "null".to_string(),
        Some(s) => {
            let samples: Vec<String> = s.samples.iter().map(|v| json_num(*v)).collect();
            format!(
                "{{\"median\": {}, \"min\": {}, \"max\": {}, \"n\": {}, \"samples\": [{}]}}",
                json_num(s.median),
                json_num(s.min),
                json_num(s.max),
                s.samples.len(),
                samples.join(", ")
            )
        }
    }
}

/// The results as JSON: `meta` (string pairs), the rows, the geometric mean, and `problems`.
pub fn to_json(meta: &[(&str, String)], rows: &[Row], problems: &[String]) -> String {
    let mut out = String::from("{\n");
    for (k, v) in meta {
        let _ = writeln!(out, "  {}: {},", json_str(k), json_str(v));
    }
    out.push_str("  \"rows\": [\n");
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "    {{\"name\": {}, \"unit\": {}, \"direction\": {}, \"linux\": {}, \"ours\": {}, \
             \"ratio\": {}, \"note\": {}}}{}",
            json_str(&r.name),
            json_str(&r.unit),
            json_str(r.direction().name()),
            json_summary(r.linux.as_ref()),
            json_summary(r.ours.as_ref()),
            r.ratio().map_or("null".to_string(), json_num),
            r.note.as_deref().map_or("null".to_string(), json_str),
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    let (g, n) = overall(rows);
    let _ = writeln!(
        out,
        "  ],\n  \"geomean\": {},\n  \"geomean_over\": {n},",
        g.map_or("null".to_string(), json_num)
    );
    let problems: Vec<String> = problems.iter().map(|p| json_str(p)).collect();
    let _ = writeln!(out, "  \"problems\": [{}]\n}}", problems.join(", "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        let mut c = Collected::default();
        for v in [1.0, 2.0, 3.0] {
            c.add(Side::Linux, "lat", "us", v);
            c.add(Side::Ours, "lat", "us", v / 2.0);
            c.add(Side::Linux, "bw", "MB/s", 100.0 * v);
            c.add(Side::Ours, "bw", "MB/s", 50.0 * v);
            c.add(Side::Linux, "only", "us", v);
        }
        c.rows()
    }

    #[test]
    fn collects_in_first_seen_order_with_ratios() {
        let r = rows();
        assert_eq!(r.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["lat", "bw", "only"]);
        assert_eq!(r[0].ratio(), Some(2.0));
        assert_eq!(r[1].ratio(), Some(0.5));
        assert_eq!(r[2].ratio(), None);
        let (g, n) = overall(&r);
        assert_eq!(n, 2);
        assert!((g.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn table_says_not_yet_and_ends_with_the_geomean() {
        let mut r = rows();
        r[2].note = Some("a footnote".into());
        let t = table(&r);
        assert!(t.contains("not yet"));
        assert!(t.contains("2.00 (1.00–3.00)"));
        assert!(t.contains("only*"));
        assert!(t.contains("* only: a footnote"));
        assert!(t.lines().any(|l| l.starts_with("geometric mean over 2") && l.ends_with("1.00")));
    }

    #[test]
    fn numbers_keep_about_three_digits() {
        assert_eq!(num(99.97), "100");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(9.999), "10.0");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(0.4567), "0.457");
        assert_eq!(num(2408.4), "2408");
    }

    #[test]
    fn problems_are_grouped_by_message() {
        let list = [
            (Some(1), "ours: socket".to_string()),
            (Some(2), "ours: socket".to_string()),
            (None, "Linux: no memory".to_string()),
            (Some(2), "Linux: odd".to_string()),
        ];
        assert_eq!(
            group_problems(&list),
            ["ours: socket (runs 1, 2)", "Linux: no memory", "Linux: odd (run 2)"]
        );
    }

    #[test]
    fn json_is_well_formed_enough() {
        let j = to_json(&[("kernel", "a\"b".into())], &rows(), &["x\ny".into()]);
        assert!(j.contains("\"kernel\": \"a\\\"b\""));
        assert!(j.contains("\"ours\": null"));
        assert!(j.contains("\"geomean_over\": 2"));
        assert!(j.contains("[\"x\\ny\"]"));
        assert_eq!(j.matches('{').count(), j.matches('}').count());
        assert_eq!(j.matches('[').count(), j.matches(']').count());
    }
}
