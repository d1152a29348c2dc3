//! report.html: one self-contained page (inline CSS and SVG; no script, font or image fetched)
//! with the provenance, every figure with its interval and count, DET curves per species on one
//! plot, score histograms of the lives against each species, and the pipeline's tables.

use std::fmt::Write;

use crate::confusion::AttackTypeMatrix;
use crate::interval::Proportion;
use crate::iso::{AtTarget, Estimate};
use crate::plot::probit;
use crate::report::{EvalReport, FileId, OUTCOMES};
use crate::scores::Scored;

const COLORS: [&str; 8] = [
    "#1f5ac8", "#d1495b", "#2a9d8f", "#e9a23b", "#6a4c93", "#8d6e63", "#00798c", "#b5179e",
];
const LIVE_COLOR: &str = "#4a8f3a";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

fn ci(c: [f64; 2]) -> String {
    format!("[{}, {}]", pct(c[0]), pct(c[1]))
}

fn prop_row(name: &str, p: Option<&Proportion>, note: &str) -> String {
    match p {
        Some(p) => format!(
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{} of {}</td><td>{}</td></tr>\n",
            esc(name),
            pct(p.value),
            ci(p.ci95),
            p.count,
            p.n,
            esc(note)
        ),
        None => format!(
            "<tr><td>{}</td><td colspan=4>no samples</td></tr>\n",
            esc(name)
        ),
    }
}

fn at_target_row(a: &AtTarget, bpcer_figure: bool) -> String {
    match (&a.point, &a.unresolved) {
        (Some(p), _) => {
            let (v, interval, how) = if bpcer_figure {
                let b = a.bootstrap.map(|b| b.ci95).unwrap_or(p.bpcer.ci95);
                (p.bpcer, b, "bootstrap")
            } else {
                (p.apcer, p.apcer.ci95, "Clopper–Pearson")
            };
            format!(
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{} of {}</td><td>τ = {:.6}; {how}</td></tr>\n",
                esc(&a.name),
                pct(v.value),
                ci(interval),
                v.count,
                v.n,
                p.threshold
            )
        }
        (None, Some(u)) => format!(
            "<tr class=refused><td>{}</td><td colspan=3>not resolvable</td><td>{} {} given; at least {} needed</td></tr>\n",
            esc(&a.name),
            u.have,
            esc(u.what),
            u.needed
        ),
        _ => String::new(),
    }
}

fn estimate_row(name: &str, e: Option<&Estimate>) -> String {
    match e {
        Some(e) => format!(
            "<tr><td>{name}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{} live, {} attack</td><td>bootstrap</td></tr>\n",
            pct(e.value),
            e.bootstrap.map(|b| ci(b.ci95)).unwrap_or_else(|| "—".into()),
            e.n_live,
            e.n_attack
        ),
        None => format!("<tr><td>{name}</td><td colspan=4>needs live and attack scores</td></tr>\n"),
    }
}

fn file_row(what: &str, f: &Option<FileId>) -> String {
    match f {
        Some(f) => format!(
            "<tr><th>{what}</th><td>{}<br><code>{}</code></td></tr>\n",
            esc(&f.path.display().to_string()),
            f.sha256
        ),
        None => String::new(),
    }
}

/// DET (x = APCER, y = BPCER, probit axes 0.1 %–80 %) of the lives against each species.
fn det_svg(samples: &[Scored], species: &[String], threshold: f64) -> String {
    let (w, h, l, t, r, b) = (720.0, 440.0, 60.0, 20.0, 180.0, 50.0);
    let (lo, hi) = (0.001f64, 0.8f64);
    let axis = |p: f64| (probit(p.clamp(lo, hi)) - probit(lo)) / (probit(hi) - probit(lo));
    let x = |p: f64| l + axis(p) * (w - l - r);
    let y = |p: f64| h - b - axis(p) * (h - t - b);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' role='img' aria-label='DET curves'>\n<rect x='{l}' y='{t}' width='{}' height='{}' fill='white' stroke='#333'/>\n",
        w - l - r,
        h - t - b
    );
    for (v, label) in [
        (0.001, "0.1"),
        (0.01, "1"),
        (0.05, "5"),
        (0.2, "20"),
        (0.5, "50"),
        (0.8, "80"),
    ] {
        let _ = write!(
            s,
            "<line x1='{0:.1}' y1='{t}' x2='{0:.1}' y2='{1}' stroke='#ddd'/><text x='{0:.1}' y='{2}' text-anchor='middle' font-size='11'>{label}</text>\n<line x1='{l}' y1='{3:.1}' x2='{4}' y2='{3:.1}' stroke='#ddd'/><text x='{5}' y='{6:.1}' text-anchor='end' font-size='11'>{label}</text>\n",
            x(v),
            h - b,
            h - b + 15.0,
            y(v),
            w - r,
            l - 6.0,
            y(v) + 4.0
        );
    }
    let _ = write!(
        s,
        "<line x1='{l}' y1='{}' x2='{}' y2='{t}' stroke='#aaa' stroke-dasharray='4 4'/>\n<text x='{}' y='{}' text-anchor='middle' font-size='12'>APCER (%)</text>\n<text x='14' y='{}' font-size='12' transform='rotate(-90 14 {})' text-anchor='middle'>BPCER (%)</text>\n",
        h - b,
        w - r,
        (l + w - r) / 2.0,
        h - 12.0,
        (t + h - b) / 2.0,
        (t + h - b) / 2.0
    );
    let mut lives: Vec<f64> = samples
        .iter()
        .filter(|s| !s.attack)
        .map(|s| s.score)
        .collect();
    lives.sort_by(f64::total_cmp);
    for (i, sp) in species.iter().enumerate() {
        let mut attacks: Vec<f64> = samples
            .iter()
            .filter(|s| s.attack && &s.attack_type == sp)
            .map(|s| s.score)
            .collect();
        if attacks.is_empty() || lives.is_empty() {
            continue;
        }
        attacks.sort_by(f64::total_cmp);
        let mut taus: Vec<f64> = lives.iter().chain(&attacks).copied().collect();
        taus.sort_by(f64::total_cmp);
        taus.dedup();
        taus.push(f64::INFINITY);
        let rate = |v: &[f64], tau: f64| v.partition_point(|&s| s < tau) as f64 / v.len() as f64;
        let pts: Vec<String> = taus
            .iter()
            .map(|&tau| {
                let apcer = rate(&attacks, tau);
                let bpcer = 1.0 - rate(&lives, tau);
                format!("{:.1},{:.1}", x(apcer), y(bpcer))
            })
            .collect();
        let c = COLORS[i % COLORS.len()];
        let (ap, bp) = (rate(&attacks, threshold), 1.0 - rate(&lives, threshold));
        let _ = write!(
            s,
            "<polyline fill='none' stroke='{c}' stroke-width='2' points='{}'/>\n<circle cx='{:.1}' cy='{:.1}' r='4' fill='{c}'/>\n<rect x='{}' y='{}' width='12' height='12' fill='{c}'/><text x='{}' y='{}' font-size='12'>{}</text>\n",
            pts.join(" "),
            x(ap),
            y(bp),
            w - r + 14.0,
            t + 10.0 + 18.0 * i as f64,
            w - r + 31.0,
            t + 21.0 + 18.0 * i as f64,
            esc(sp)
        );
    }
    s + "</svg>\n"
}

/// Score histogram (20 bins over [0, 1]) of the lives and one species, with τ.
fn histogram_svg(samples: &[Scored], sp: &str, color: &str, threshold: f64) -> String {
    const BINS: usize = 20;
    let (w, h, l, b, t) = (300.0, 170.0, 10.0, 24.0, 22.0);
    let count = |pred: &dyn Fn(&Scored) -> bool| {
        let mut c = [0usize; BINS];
        let mut n = 0;
        for s in samples.iter().filter(|s| pred(s)) {
            c[((s.score.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1)] += 1;
            n += 1;
        }
        (c, n.max(1))
    };
    let (live, nl) = count(&|s| !s.attack);
    let (att, na) = count(&|s| s.attack && s.attack_type == sp);
    let peak = (0..BINS)
        .map(|i| (live[i] as f64 / nl as f64).max(att[i] as f64 / na as f64))
        .fold(1e-9, f64::max);
    let bw = (w - 2.0 * l) / BINS as f64;
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' role='img' aria-label='histogram'>\n<text x='{l}' y='14' font-size='12'><tspan fill='{LIVE_COLOR}'>live ({nl})</tspan> vs <tspan fill='{color}'>{} ({na})</tspan></text>\n",
        esc(sp)
    );
    for (c, n, color, dx) in [(&live, nl, LIVE_COLOR, 0.0), (&att, na, color, bw / 2.0)] {
        for (i, &k) in c.iter().enumerate() {
            let bh = (k as f64 / n as f64) / peak * (h - b - t);
            let _ = write!(
                s,
                "<rect x='{:.1}' y='{:.1}' width='{:.1}' height='{bh:.1}' fill='{color}' opacity='0.8'/>",
                l + i as f64 * bw + dx,
                h - b - bh,
                bw / 2.0
            );
        }
    }
    let tx = l + threshold.clamp(0.0, 1.0) * (w - 2.0 * l);
    let _ = write!(
        s,
        "\n<line x1='{l}' y1='{0}' x2='{1}' y2='{0}' stroke='#333'/><line x1='{tx:.1}' y1='{t}' x2='{tx:.1}' y2='{0}' stroke='#000' stroke-dasharray='3 3'/>\n<text x='{l}' y='{2}' font-size='10'>0</text><text x='{1}' y='{2}' font-size='10' text-anchor='end'>1</text><text x='{tx:.1}' y='{2}' font-size='10' text-anchor='middle'>τ</text>\n</svg>\n",
        h - b,
        w - l,
        h - b + 14.0
    );
    s
}

/// The attack-type head's confusion matrix, or why there is none.
fn type_matrix_html(m: &AttackTypeMatrix) -> String {
    let mut s = String::from("<h2>Attack type (the model's second head)</h2>\n");
    let c = match m {
        AttackTypeMatrix::NotAvailable { reason } => {
            return s + &format!("<p>Not available: {}.</p>\n", esc(reason))
        }
        AttackTypeMatrix::Available(c) => c,
    };
    s += "<p class=note>Rows: the true fine-grained label; columns: the head's most probable class.</p>\n<table><tr><th>true \\ predicted</th>";
    for name in &c.classes {
        let _ = write!(s, "<th>{}</th>", esc(name));
    }
    s += "<th>total</th></tr>\n";
    for (name, (row, total)) in c.classes.iter().zip(c.counts.iter().zip(c.row_totals())) {
        let _ = write!(s, "<tr><td>{}</td>", esc(name));
        for n in row {
            let _ = write!(s, "<td class=n>{n}</td>");
        }
        let _ = writeln!(s, "<td class=n>{total}</td></tr>");
    }
    s += "</table>\n";
    if let Some(a) = c.accuracy() {
        let _ = writeln!(s, "<p>Type accuracy {}.</p>", pct(a));
    }
    s
}

/// The whole page.
pub fn render(r: &EvalReport, samples: &[Scored]) -> String {
    let f = &r.iso;
    let p = &r.provenance;
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>libmoae evaluation report</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}\ntable{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\ntd.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.refused td{color:#8a4b00;background:#fff6e5}\ncode{font-size:.85em}.hist{display:flex;flex-wrap:wrap;gap:1em}.note{color:#555;font-size:.9em}\n</style></head><body>\n<h1>libmoae evaluation report</h1>\n",
    );
    let _ = write!(
        s,
        "<h2>What was measured</h2>\n<table>\n<tr><th>threshold τ</th><td>{} — {}</td></tr>\n<tr><th>rule</th><td>attack when score = P(attack) ≥ τ</td></tr>\n{}{}{}<tr><th>SDK version</th><td>{}</td></tr>\n<tr><th>written by</th><td>{}</td></tr>\n<tr><th>presentations</th><td>{} bona fide, {} attack</td></tr>\n</table>\n",
        f.threshold,
        esc(&p.threshold_origin),
        file_row("model (SHA-256)", &p.model),
        file_row("test list (SHA-256)", &p.list),
        file_row("threshold set on (SHA-256)", &p.threshold_list),
        esc(&p.sdk_version),
        esc(&p.producer),
        f.n_live,
        f.n_attack
    );
    s += "<h2>ISO/IEC 30107-3 figures</h2>\n<p class=note>Proportions: two-sided 95 % Clopper–Pearson intervals. EER, AUC and BPCER at a fixed APCER: 95 % percentile bootstrap";
    let _ = write!(
        s,
        " ({} resamples of {} {}s, seed {}). A figure the set is too small for is refused with the count it needs.</p>\n<table><tr><th>figure</th><th>value</th><th>95 % interval</th><th>count</th><th>note</th></tr>\n",
        f.bootstrap.resamples,
        f.bootstrap.units,
        match f.bootstrap.unit {
            crate::bootstrap::Unit::Subject => "subject",
            crate::bootstrap::Unit::Image => "image",
        },
        f.bootstrap.seed
    );
    s += &prop_row("APCER, all attacks", f.apcer.as_ref(), "at τ");
    if let Some(w) = &f.worst_species {
        s += &prop_row(
            &format!("APCER, worst species ({})", w.name),
            Some(&w.apcer),
            "at τ",
        );
    }
    s += &prop_row("BPCER", f.bpcer.as_ref(), "at τ");
    for a in &f.bpcer_at_apcer {
        s += &at_target_row(a, true);
    }
    for a in &f.apcer_at_bpcer {
        s += &at_target_row(a, false);
    }
    s += &estimate_row("EER", f.eer.as_ref());
    s += &estimate_row("AUC", f.auc.as_ref());
    s += "</table>\n<h2>APCER per attack species (at τ)</h2>\n<table><tr><th>species</th><th>APCER</th><th>95 % interval</th><th>count</th><th>note</th></tr>\n";
    for (k, pr) in &f.apcer_per_species {
        let worst = f.worst_species.as_ref().is_some_and(|w| &w.name == k);
        s += &prop_row(k, Some(pr), if worst { "worst" } else { "" });
    }
    s += "</table>\n";
    if let Some(a) = &f.acer_literature {
        let _ = writeln!(
            s,
            "<p class=note>The literature's figure: ACER = {} ({}).</p>",
            pct(a.value),
            esc(a.note)
        );
    }
    let species: Vec<String> = f.apcer_per_species.keys().cloned().collect();
    s += "<h2>DET curves per species</h2>\n<p class=note>Lives against each species' attacks; the dot is τ.</p>\n";
    s += &det_svg(samples, &species, f.threshold);
    s += "<h2>Score histograms</h2>\n<div class=hist>\n";
    for (i, sp) in species.iter().enumerate() {
        s += &histogram_svg(samples, sp, COLORS[i % COLORS.len()], f.threshold);
    }
    s += "</div>\n";
    if let Some(m) = &r.attack_type_confusion {
        s += &type_matrix_html(m);
    }
    if let Some(pl) = &r.pipeline {
        let _ = write!(
            s,
            "<h2>Decisions of the whole pipeline</h2>\n<p class=note>{} presentations. Unsure, no face and several faces are non-responses: counted apart from APCER and BPCER (the figures above are on the decided presentations).</p>\n<table><tr><th>true class</th>",
            pl.presentations
        );
        for o in OUTCOMES {
            let _ = write!(s, "<th>{o}</th>");
        }
        s += "</tr>\n";
        for (class, row) in &pl.decisions {
            let _ = write!(s, "<tr><td>{}</td>", esc(class));
            for o in OUTCOMES {
                let _ = write!(s, "<td class=n>{}</td>", row.get(o).copied().unwrap_or(0));
            }
            s += "</tr>\n";
        }
        s += "</table>\n<h2>Non-response</h2>\n<table><tr><th>reason</th><th>rate</th><th>95 % interval</th><th>count</th><th>note</th></tr>\n";
        s += &prop_row("any (no decision)", pl.non_response.as_ref(), "");
        for (k, pr) in &pl.non_response_by_reason {
            s += &prop_row(k, Some(pr), "");
        }
        s += "</table>\n";
    }
    s + "</body></html>\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::Settings;
    use crate::rates::ThresholdSource;
    use crate::report::{Pipeline, Provenance};

    #[test]
    fn page_is_self_contained_and_names_every_figure() {
        let mut s: Vec<Scored> = (0..30)
            .map(|i| Scored::new(i as f64 / 60.0, false, "live"))
            .collect();
        s.extend((0..20).map(|i| Scored::new(0.4 + i as f64 / 40.0, true, "print")));
        s.extend((0..20).map(|i| Scored::new(0.5 + i as f64 / 45.0, true, "re<play>")));
        let p = Provenance {
            producer: "test".into(),
            sdk_version: "0.2.0".into(),
            model: None,
            list: None,
            threshold_list: None,
            threshold_origin: "fixed".into(),
        };
        let mut r =
            EvalReport::new(&s, 0.5, ThresholdSource::Fixed, p, Settings::default()).unwrap();
        r.pipeline = Some(Pipeline {
            presentations: 75,
            ..Pipeline::default()
        });
        let html = render(&r, &s);
        for needle in [
            "BPCER20",
            "BPCER100",
            "at least 100 needed",
            "APCER@BPCER5%",
            "EER",
            "AUC",
            "not an ISO/IEC 30107-3 metric",
            "<polyline",
            "re&lt;play&gt;",
            "Non-response",
        ] {
            assert!(html.contains(needle), "{needle} missing");
        }
        // Nothing is fetched: no script, no external reference.
        for banned in ["<script", "http://", "https://", "src="] {
            let outside_svg_ns = html.replace("xmlns='http://www.w3.org/2000/svg'", "");
            assert!(!outside_svg_ns.contains(banned), "{banned} present");
        }
        assert_eq!(html.matches("<polyline").count(), 2, "one DET per species");
        assert!(
            !html.contains("Attack type"),
            "no matrix section without one"
        );
    }

    #[test]
    fn page_shows_the_type_matrix_or_says_it_is_not_available() {
        use crate::confusion::TypeConfusion;
        let (mut r, s) = crate::report::tests::sample();
        let c = TypeConfusion::from_pairs([(0, 0), (0, 2), (3, 3), (3, 3), (3, 3)]).unwrap();
        r.attack_type_confusion = Some(AttackTypeMatrix::Available(c));
        let html = render(&r, &s);
        assert!(
            html.contains("<tr><td>digital</td><td class=n>0</td><td class=n>0</td><td class=n>0</td><td class=n>3</td><td class=n>3</td></tr>"),
            "{html}"
        );
        assert!(html
            .contains("<tr><td>live</td><td class=n>1</td><td class=n>0</td><td class=n>1</td>"));
        r.attack_type_confusion = Some(AttackTypeMatrix::no_head());
        let html = render(&r, &s);
        assert!(html.contains("Not available: the model has no attack-type head."));
        assert!(!html.contains("true \\ predicted"));
    }
}
