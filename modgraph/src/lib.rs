//! The module import graph of a crate, read from its `src/` files, and the cycles in it.
//!
//! Modules come from the file tree (`a.rs`, `a/mod.rs`, `a/b.rs` are `a`, `a`, `a::b`), never
//! from a fixed list, so the check follows files as they move. Edges come from `crate::…`,
//! `super::…`, `self::…` and child-module paths in code and in `use` trees (groups expanded);
//! a name a module re-exports (`pub use x::Y`) resolves to the module that defines it. Test
//! items (`#[cfg(test)]`), comments and string literals are ignored. The graph is read at two
//! depths: top-level modules (`engine`, `face`) and second-level ones (`engine::options`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below the crate root (`["model", "clip"]`); the root itself is empty.
pub type ModPath = Vec<String>;

/// One source file: its path relative to `src/` and its text.
pub struct SourceFile {
    pub rel: PathBuf,
    pub text: String,
}

/// Module-to-module edges at one depth, each with the first place (`file:line`) that makes it.
#[derive(Debug, Default)]
pub struct Graph {
    pub edges: BTreeMap<String, BTreeMap<String, String>>,
}

/// A cycle: its modules in order (the first repeated at the end) and where each edge comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub modules: Vec<String>,
    pub witnesses: Vec<String>,
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.modules.join(" -> "))?;
        for (i, w) in self.witnesses.iter().enumerate() {
            write!(
                f,
                "\n    {} -> {}: {w}",
                self.modules[i],
                self.modules[i + 1]
            )?;
        }
        Ok(())
    }
}

/// Reads every `.rs` file under `src` (except `src/bin/`, whose files are crate roots).
pub fn read_src(src: &Path) -> std::io::Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            let rel = p.strip_prefix(src).expect("under src").to_path_buf();
            if p.is_dir() {
                if rel != Path::new("bin") {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p)?;
                out.push(SourceFile { rel, text });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// The module a file defines (`a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs`, `main.rs` root).
pub fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if !(stem == "mod" || (parts.is_empty() && (stem == "lib" || stem == "main"))) {
        parts.push(stem.to_string());
    }
    parts
}

/// The module graphs of a crate's files at depth 1 and depth 2.
pub fn graphs(files: &[SourceFile]) -> (Graph, Graph) {
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(&f.rel)).collect();
    let cleaned: Vec<(ModPath, String)> = files
        .iter()
        .map(|f| {
            (
                module_of(&f.rel),
                strip_tests(&strip_comments_and_literals(&f.text)),
            )
        })
        .collect();
    let reexports = reexports(&cleaned, &modules);
    let (mut top, mut second) = (Graph::default(), Graph::default());
    for ((module, code), file) in cleaned.iter().zip(files) {
        for (line, target) in references(module, code, &modules) {
            let target = resolve(&target, &modules, &reexports);
            if target.is_empty() || module.is_empty() {
                continue;
            }
            let at = format!("{}:{line}", file.rel.display());
            top.add(&module[..1], &target[..1], &at);
            let (a, b) = (
                &module[..module.len().min(2)],
                &target[..target.len().min(2)],
            );
            // A directory's `mod.rs` and its files are one room: a parent that dispatches to
            // its children while they share its types is no cycle.
            if !(a.starts_with(b) || b.starts_with(a)) {
                second.add(a, b, &at);
            }
        }
    }
    (top, second)
}

impl Graph {
    fn add(&mut self, from: &[String], to: &[String], at: &str) {
        let (from, to) = (from.join("::"), to.join("::"));
        if from != to {
            let e = self.edges.entry(from).or_default();
            e.entry(to).or_insert_with(|| at.to_string());
        }
        // Keep every node, so that a module with no imports is still in the graph.
    }

    /// The strongly connected sets of two or more modules (each one knot of cycles), in a
    /// stable order.
    pub fn tangles(&self) -> Vec<BTreeSet<String>> {
        strongly_connected(self)
            .into_iter()
            .filter(|s| s.len() > 1)
            .collect()
    }

    /// Every tangle's cycles: a shortest one through each of its modules (duplicates dropped).
    pub fn cycles(&self) -> Vec<Cycle> {
        let mut out: Vec<Cycle> = Vec::new();
        for set in self.tangles() {
            for start in &set {
                let c = self.cycle_through(start, &set);
                let seen = out.iter().any(|o| {
                    o.modules.len() == c.modules.len() && rotations_equal(&o.modules, &c.modules)
                });
                if !seen {
                    out.push(c);
                }
            }
        }
        out
    }

    /// A shortest cycle through `start`, inside `set` (strongly connected, holding `start`).
    fn cycle_through(&self, start: &str, set: &BTreeSet<String>) -> Cycle {
        let start = start.to_string();
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut last = None;
        'bfs: while let Some(n) = queue.pop_front() {
            for m in self.edges.get(&n).into_iter().flat_map(|e| e.keys()) {
                if !set.contains(m) {
                    continue;
                }
                if *m == start {
                    last = Some(n.clone());
                    break 'bfs;
                }
                if !prev.contains_key(m) {
                    prev.insert(m.clone(), n.clone());
                    queue.push_back(m.clone());
                }
            }
        }
        let mut path = vec![start.clone()];
        let mut n = last.expect("a strongly connected set has a cycle through each member");
        while n != start {
            path.push(n.clone());
            n = prev[&n].clone();
        }
        path.push(start);
        path.reverse();
        let witnesses = path
            .windows(2)
            .map(|w| self.edges[&w[0]][&w[1]].clone())
            .collect();
        Cycle {
            modules: path,
            witnesses,
        }
    }
}

/// Whether two closed walks (first module repeated at the end) are the same cycle.
fn rotations_equal(a: &[String], b: &[String]) -> bool {
    let (a, b) = (&a[1..], &b[1..]);
    (0..a.len()).any(|r| a.iter().cycle().skip(r).take(a.len()).eq(b.iter()))
}

/// Tarjan's strongly connected components (recursive: module graphs are small).
fn strongly_connected(g: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let g = s.g;
        for w in g.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                set.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            s.out.push(set);
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// `path` (absolute, from the crate root) as the deepest file module it names; a name that
/// module re-exports is followed to where it comes from.
fn resolve(
    path: &[String],
    modules: &BTreeSet<ModPath>,
    reexports: &BTreeMap<(ModPath, String), ModPath>,
) -> ModPath {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let known = (0..=path.len())
            .rev()
            .find(|&k| k == 0 || modules.contains(&path[..k].to_vec()))
            .unwrap_or(0);
        let module = path[..known].to_vec();
        let Some(next) = path.get(known) else {
            return module;
        };
        match reexports.get(&(module.clone(), next.clone())) {
            Some(from) if *from != module => {
                let mut p = from.clone();
                p.extend_from_slice(&path[known + 1..]);
                path = p;
            }
            _ => return module,
        }
    }
    Vec::new()
}

/// `(module, name) -> the path it was re-exported from` for every `pub use` (any `pub(..)`).
fn reexports(
    cleaned: &[(ModPath, String)],
    modules: &BTreeSet<ModPath>,
) -> BTreeMap<(ModPath, String), ModPath> {
    let mut out = BTreeMap::new();
    for (module, code) in cleaned {
        let b = code.as_bytes();
        let mut i = 0;
        while let Some(p) = code[i..].find("pub") {
            let at = i + p;
            i = at + 3;
            if at > 0 && is_ident(b[at - 1]) {
                continue;
            }
            let mut j = skip_ws(b, at + 3);
            if b.get(j) == Some(&b'(') {
                j = match code[j..].find(')') {
                    Some(k) => skip_ws(b, j + k + 1),
                    None => continue,
                };
            }
            if !code[j..].starts_with("use") || b.get(j + 3).is_some_and(|&c| is_ident(c)) {
                continue;
            }
            let mut leaves = Vec::new();
            parse_tree(b, skip_ws(b, j + 3), &mut Vec::new(), &mut leaves);
            for (segs, alias) in leaves {
                let Some(abs) = absolute(module, &segs, modules) else {
                    continue;
                };
                let name = alias.or_else(|| abs.last().cloned());
                if let (Some(name), false) = (name, abs.is_empty()) {
                    out.insert((module.clone(), name), abs);
                }
            }
        }
    }
    out
}

/// Every `(line, absolute path)` that code in `module` names through `crate`, `super`, `self`
/// or one of its child modules.
fn references(module: &[String], code: &str, modules: &BTreeSet<ModPath>) -> Vec<(usize, ModPath)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new(); // (name, brace depth inside it)
    let mut depth = 0usize;
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, d)| *d > depth) {
                inline.pop();
            }
        }
        if !is_ident(c) || (i > 0 && (is_ident(b[i - 1]) || b[i - 1] == b'$')) {
            i += 1;
            continue;
        }
        let word_end = (i..b.len()).find(|&k| !is_ident(b[k])).unwrap_or(b.len());
        let word = &code[i..word_end];
        if word == "mod" {
            let n0 = skip_ws(b, word_end);
            let n1 = (n0..b.len()).find(|&k| !is_ident(b[k])).unwrap_or(b.len());
            if n1 > n0 && b.get(skip_ws(b, n1)) == Some(&b'{') {
                inline.push((code[n0..n1].to_string(), depth + 1));
            }
        }
        let preceded_by_path = i >= 2 && &b[i - 2..i] == b"::";
        if !preceded_by_path && code[word_end..].starts_with("::") {
            let mut here: ModPath = module.to_vec();
            here.extend(inline.iter().map(|(n, _)| n.clone()));
            let mut leaves = Vec::new();
            parse_tree(b, i, &mut Vec::new(), &mut leaves);
            for (segs, _) in leaves {
                if let Some(abs) = absolute(&here, &segs, modules) {
                    out.push((line, abs));
                }
            }
        }
        i = word_end;
    }
    out
}

/// `segs` as seen from module `here`, made absolute; `None` when it names no module of this
/// crate (another crate, a local item).
fn absolute(here: &[String], segs: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = segs.first()?;
    let mut out: ModPath;
    let mut rest = &segs[1..];
    match first.as_str() {
        "crate" => out = Vec::new(),
        "self" => out = here.to_vec(),
        "super" => {
            out = here[..here.len().checked_sub(1)?].to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                out.pop()?;
                rest = &rest[1..];
            }
        }
        name => {
            let mut child = here.to_vec();
            child.push(name.to_string());
            if here.is_empty() || !modules.contains(&child) {
                return None;
            }
            out = child;
        }
    }
    out.extend(rest.iter().cloned());
    Some(out)
}

/// Parses a path or `use` tree at `i` (`a::b::{c, d::e as f, *}`) into its leaves (segments
/// and alias); returns where it ends.
fn parse_tree(
    b: &[u8],
    mut i: usize,
    prefix: &mut Vec<String>,
    leaves: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let base = prefix.len();
    loop {
        i = skip_ws(b, i);
        if b.get(i) == Some(&b'{') {
            i += 1;
            loop {
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(b'}') => {
                        i += 1;
                        break;
                    }
                    Some(b',') => i += 1,
                    None => break,
                    _ => {
                        let j = parse_tree(b, i, prefix, leaves);
                        if j == i {
                            i += 1;
                        } else {
                            i = j;
                        }
                    }
                }
            }
            prefix.truncate(base);
            return i;
        }
        let end = (i..b.len()).find(|&k| !is_ident(b[k])).unwrap_or(b.len());
        if end == i {
            // `*` or a non-path token: the prefix so far is the leaf.
            if b.get(i) == Some(&b'*') {
                i += 1;
            }
            break;
        }
        prefix.push(String::from_utf8_lossy(&b[i..end]).into_owned());
        i = end;
        let j = skip_ws(b, i);
        if b[j..].starts_with(b"::") {
            i = j + 2;
            continue;
        }
        break;
    }
    let mut alias = None;
    let j = skip_ws(b, i);
    if b[j..].starts_with(b"as") && b.get(j + 2).is_some_and(|c| c.is_ascii_whitespace()) {
        let k = skip_ws(b, j + 2);
        let end = (k..b.len()).find(|&m| !is_ident(b[m])).unwrap_or(b.len());
        alias = Some(String::from_utf8_lossy(&b[k..end]).into_owned());
        i = end;
    }
    if prefix.len() > base || alias.is_some() {
        leaves.push((prefix.clone(), alias));
    }
    prefix.truncate(base);
    i
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `src` with comments, string and char literals blanked (newlines kept, so lines still match).
pub fn strip_comments_and_literals(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = (i..b.len()).find(|&k| b[k] == b'\n').unwrap_or(b.len());
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut k) = (0usize, i);
            while k < b.len() {
                if b[k..].starts_with(b"/*") {
                    depth += 1;
                    k += 2;
                } else if b[k..].starts_with(b"*/") {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    k += 1;
                }
            }
            blank(&mut out, i, k);
            i = k;
        } else if let Some(hashes) = raw_string_start(b, i) {
            let open = i + if b[i] == b'b' { 2 } else { 1 } + hashes + 1;
            let mut close = b"\"".to_vec();
            close.extend(std::iter::repeat_n(b'#', hashes));
            let end = (open..b.len())
                .find(|&k| b[k..].starts_with(&close))
                .map_or(b.len(), |k| k + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' && !(i > 0 && is_ident(b[i - 1]) && b[i - 1] != b'b') {
            let mut k = i + 1;
            while k < b.len() && b[k] != b'"' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, k + 1);
            i = k + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let len = if b.get(i + 1) == Some(&b'\\') {
                (i + 2..b.len()).find(|&k| b[k] == b'\'').map(|k| k + 1 - i)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(3)
            } else {
                std::str::from_utf8(&b[i + 1..b.len().min(i + 6)])
                    .ok()
                    .or_else(|| std::str::from_utf8(&b[i + 1..b.len().min(i + 5)]).ok())
                    .and_then(|s| s.chars().next())
                    .filter(|c| !c.is_ascii())
                    .filter(|c| b.get(i + 1 + c.len_utf8()) == Some(&b'\''))
                    .map(|c| c.len_utf8() + 2)
            };
            let len = len.unwrap_or(1);
            blank(&mut out, i, i + len);
            i += len;
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The number of `#` of a raw string (`r"`, `r#"`, `br##"`) starting at `i`.
fn raw_string_start(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident(b[i - 1]) {
        return None;
    }
    let mut k = i;
    if b.get(k) == Some(&b'b') {
        k += 1;
    }
    if b.get(k) != Some(&b'r') {
        return None;
    }
    k += 1;
    let hashes = (k..b.len()).take_while(|&m| b[m] == b'#').count();
    (b.get(k + hashes) == Some(&b'"')).then_some(hashes)
}

/// `code` with every item marked `#[cfg(test)]` blanked (test code may import anything).
pub fn strip_tests(code: &str) -> String {
    let b = code.as_bytes();
    let mut out = b.to_vec();
    let mut from = 0;
    while let Some(p) = code[from..].find("#[cfg(test)]") {
        let start = from + p;
        let mut k = start + "#[cfg(test)]".len();
        while k < b.len() && b[k] != b'{' && b[k] != b';' {
            k += 1;
        }
        if k < b.len() && b[k] == b'{' {
            let mut depth = 0;
            while k < b.len() {
                match b[k] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
        }
        let end = (k + 1).min(b.len());
        for c in &mut out[start..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = end;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Vec<SourceFile> {
        files
            .iter()
            .map(|(p, t)| SourceFile {
                rel: PathBuf::from(p),
                text: t.to_string(),
            })
            .collect()
    }

    fn names(cycles: &[Cycle]) -> Vec<String> {
        cycles.iter().map(|c| c.modules.join(" -> ")).collect()
    }

    #[test]
    fn modules_come_from_file_paths() {
        assert_eq!(module_of(Path::new("lib.rs")), ModPath::new());
        assert_eq!(module_of(Path::new("main.rs")), ModPath::new());
        assert_eq!(module_of(Path::new("a.rs")), vec!["a"]);
        assert_eq!(module_of(Path::new("a/mod.rs")), vec!["a"]);
        assert_eq!(module_of(Path::new("a/b.rs")), vec!["a", "b"]);
        assert_eq!(module_of(Path::new("a/b/mod.rs")), vec!["a", "b"]);
        assert_eq!(module_of(Path::new("a/main.rs")), vec!["a", "main"]);
    }

    #[test]
    fn a_planted_top_level_cycle_is_found_and_named() {
        let files = tree(&[
            ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
            ("a.rs", "use crate::b::Thing;\npub struct A;"),
            ("b/mod.rs", "pub mod inner;\npub use inner::Thing;"),
            ("b/inner.rs", "pub struct Thing(crate::c::C);"),
            ("c.rs", "pub struct C;\nfn f() { let _ = crate::a::A; }"),
        ]);
        let (top, second) = graphs(&files);
        let cycles = top.cycles();
        assert_eq!(names(&cycles), ["a -> b -> c -> a"]);
        assert_eq!(cycles[0].witnesses, ["a.rs:1", "b/inner.rs:1", "c.rs:2"]);
        // At depth 2 the re-export resolves to `b::inner`, which is where the cycle goes.
        assert_eq!(names(&second.cycles()), ["a -> b::inner -> c -> a"]);
    }

    #[test]
    fn a_cycle_between_siblings_shows_at_depth_two_only() {
        let files = tree(&[
            ("lib.rs", "pub mod model;"),
            ("model/mod.rs", "pub mod clip; pub mod experts;"),
            (
                "model/clip.rs",
                "use super::experts::Expert;\npub fn linear() {}",
            ),
            (
                "model/experts.rs",
                "use crate::model::{config, clip::{linear as lin}};\npub struct Expert;",
            ),
        ]);
        let (top, second) = graphs(&files);
        assert!(top.cycles().is_empty());
        assert_eq!(
            names(&second.cycles()),
            ["model::clip -> model::experts -> model::clip"]
        );
    }

    #[test]
    fn one_way_imports_comments_strings_and_tests_make_no_cycle() {
        let files = tree(&[
            ("lib.rs", "mod a; mod b;"),
            (
                "a.rs",
                "use crate::b::B;\n// crate::b::x\nconst S: &str = \"crate::b::y\";",
            ),
            (
                "b.rs",
                "pub struct B;\n/* use crate::a::A; */\nconst R: &str = r#\"crate::a::\"#;\n\
                 fn f<'a>(x: &'a str) -> char { 'c' }\n\
                 #[cfg(test)]\nmod tests { use crate::a::A; }\n",
            ),
        ]);
        let (top, _) = graphs(&files);
        assert!(top.cycles().is_empty(), "{:?}", top.cycles());
        assert_eq!(top.edges["a"].keys().collect::<Vec<_>>(), ["b"]);
        assert!(!top.edges.contains_key("b"));
    }

    #[test]
    fn child_paths_and_super_in_inline_modules_resolve() {
        let files = tree(&[
            ("lib.rs", "pub mod p;"),
            ("p/mod.rs", "pub mod k;\npub mod q;\npub fn f() { k::g() }"),
            (
                "p/k.rs",
                "pub fn g() { super::f() }\nmod inner { use super::super::q::Q; }",
            ),
            ("p/q.rs", "pub struct Q;\nfn h() { super::k::g() }"),
        ]);
        let (_, second) = graphs(&files);
        assert_eq!(second.edges["p::k"]["p::q"], "p/k.rs:2");
        // `p` <-> `p::k` is a parent and its child: not counted.
        assert!(!second.edges.contains_key("p"));
        assert_eq!(names(&second.cycles()), ["p::k -> p::q -> p::k"]);
    }

    #[test]
    fn every_module_of_a_tangle_gets_its_cycle() {
        let files = tree(&[
            ("lib.rs", ""),
            ("a.rs", "use crate::b::X;"),
            ("b.rs", "use crate::a::X;\nuse crate::c::X;"),
            ("c.rs", "use crate::b::X;"),
        ]);
        let (top, _) = graphs(&files);
        assert_eq!(top.tangles().len(), 1);
        assert_eq!(names(&top.cycles()), ["a -> b -> a", "c -> b -> c"]);
    }
}
