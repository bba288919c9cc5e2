//! What each benchmark hands back, and the report: a Markdown file with
//! every table and an SVG chart of the speed-ups against the peers (log
//! scale, one bar per workload, the target marked).

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// How much faster we are than a peer on one workload.
#[derive(Debug, Clone)]
pub(crate) struct Ratio {
    /// The workload, as the chart labels it.
    pub(crate) workload: String,
    /// Who we are compared with.
    pub(crate) peer: String,
    /// The peer's time over ours: above 1 we are faster.
    pub(crate) speedup: f64,
    /// The speed-up the issues ask for, if any.
    pub(crate) target: Option<f64>,
}

impl Ratio {
    /// `peer_time / our_time`, if both were measured.
    pub(crate) fn of(
        workload: &str,
        peer: &str,
        ours: Option<f64>,
        theirs: Option<f64>,
        target: Option<f64>,
    ) -> Option<Self> {
        let (ours, theirs) = (ours?, theirs?);
        (ours > 0.0 && theirs > 0.0).then(|| Self {
            workload: workload.to_owned(),
            peer: peer.to_owned(),
            speedup: theirs / ours,
            target,
        })
    }

    /// One line for the terminal and the report.
    pub(crate) fn line(&self) -> String {
        let target = self.target.map_or(String::new(), |t| {
            format!(
                " (target >= {t}x: {})",
                if self.met() { "met" } else { "not met" }
            )
        });
        format!(
            "{}, {} / ours: {:.2}x{target}",
            self.workload, self.peer, self.speedup
        )
    }

    fn met(&self) -> bool {
        self.target.is_none_or(|t| self.speedup >= t)
    }
}

/// One benchmark's output: its table and its ratios.
#[derive(Debug, Default)]
pub(crate) struct Section {
    pub(crate) markdown: String,
    pub(crate) ratios: Vec<Ratio>,
}

/// Prints a line and keeps it in a [`Section`]: `out!(section, "{x}")`.
macro_rules! out {
    ($section:expr) => {
        $section.line(String::new())
    };
    ($section:expr, $($arg:tt)*) => {
        $section.line(format!($($arg)*))
    };
}

pub(crate) use out;

impl Section {
    /// Prints `line` as it is measured and keeps it for the report.
    pub(crate) fn line(&mut self, line: String) {
        println!("{line}");
        self.markdown.push_str(&line);
        self.markdown.push('\n');
    }

    /// Keeps a ratio, if both sides were measured.
    pub(crate) fn ratio(&mut self, ratio: Option<Ratio>) {
        self.ratios.extend(ratio);
    }

    /// The ratios, printed (the tables were printed as they were made).
    pub(crate) fn print_ratios(&self) {
        for ratio in &self.ratios {
            println!("{}", ratio.line());
        }
    }
}

/// Writes `REPORT.md` and `ratios.svg` into `dir`.
pub(crate) fn write(sections: &[Section], dir: &Path, machine: &str) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let ratios: Vec<Ratio> = sections.iter().flat_map(|s| s.ratios.clone()).collect();
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark report\n");
    let _ = writeln!(
        md,
        "Written by `cargo run --release -p bench -- report` on {machine}. Medians of the \
         repetitions each table names; this machine's timings vary by about ±30% run to run.\n"
    );
    let _ = writeln!(md, "![speed-ups against the peers](ratios.svg)\n");
    let _ = writeln!(md, "## Speed-ups\n");
    let _ = writeln!(md, "| workload | peer | peer time / ours | target |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for r in &ratios {
        let target = r.target.map_or("".to_owned(), |t| {
            format!("{t}x ({})", if r.met() { "met" } else { "not met" })
        });
        let _ = writeln!(
            md,
            "| {} | {} | {:.2}x | {target} |",
            r.workload, r.peer, r.speedup
        );
    }
    for section in sections {
        let _ = writeln!(md, "\n{}", section.markdown);
    }
    std::fs::write(dir.join("REPORT.md"), md)?;
    std::fs::write(dir.join("ratios.svg"), svg(&ratios))
}

/// A horizontal bar per ratio on a log scale from 0.1x to 1000x.
fn svg(ratios: &[Ratio]) -> String {
    const LABEL: f64 = 430.0;
    const PLOT: f64 = 520.0;
    const ROW: f64 = 22.0;
    const TOP: f64 = 40.0;
    let (lo, hi) = (0.1f64.log10(), 1000f64.log10());
    let x = |v: f64| LABEL + (v.clamp(0.1, 1000.0).log10() - lo) / (hi - lo) * PLOT;
    let height = TOP + ROW * ratios.len() as f64 + 30.0;
    let width = LABEL + PLOT + 20.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LABEL}" y="16" font-weight="bold">peer time / ours (log scale; right of 1x we are faster; | marks a target: green met, red not; blue has none)</text>"#
    );
    for tick in [0.1, 1.0, 10.0, 100.0, 1000.0] {
        let tx = x(tick);
        let _ = writeln!(
            out,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{:.1}" stroke="#ccc"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle">{tick}x</text>"##,
            height - 25.0,
            height - 10.0
        );
    }
    for (i, r) in ratios.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let (x0, x1) = (x(1.0), x(r.speedup));
        let (left, w) = if x1 >= x0 {
            (x0, x1 - x0)
        } else {
            (x1, x0 - x1)
        };
        let color = match r.target {
            None => "#4a6fa5",
            Some(_) if r.met() => "#3a7d44",
            Some(_) => "#c0392b",
        };
        let label = escape(&format!("{} vs {}", r.workload, r.peer));
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
            LABEL - 6.0,
            y + 14.0
        );
        let _ = writeln!(
            out,
            r#"<rect x="{left:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}"/>"#,
            y + 4.0,
            ROW - 8.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{:.2}x</text>"#,
            left + w + 4.0,
            y + 14.0,
            r.speedup
        );
        if let Some(t) = r.target {
            let tx = x(t);
            let _ = writeln!(
                out,
                r#"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="black" stroke-width="2"/>"#,
                y + 1.0,
                y + ROW - 1.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// This machine, in a few words: CPU model, CPUs, kernel, date.
pub(crate) fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .map_or("an unknown CPU", str::trim);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpus} x {model}, Linux {}, {date}", kernel.trim())
}
