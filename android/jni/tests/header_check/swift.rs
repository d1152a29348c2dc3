//! What the Swift wrapper uses of the C ABI, read from its sources: the typed function table
//! (`static let name: (params) -> ret = moae_fn` in CABI.swift), the struct-field key-path
//! lists (`[PartialKeyPath<moae_x>] = [\.a, \.b]`), the `CABI.name(...)` call sites with their
//! argument counts, and any `moae_*(` call that bypasses the table.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct TableEntry {
    pub swift_name: String,
    pub c_name: String,
    pub params: Vec<String>,
    pub ret: String,
}

#[derive(Debug, Default)]
pub struct SwiftUse {
    pub table: Vec<TableEntry>,
    /// C struct -> fields named in key-path lists.
    pub fields: BTreeMap<String, Vec<String>>,
    /// (file, swift table name, argument count) per `CABI.name(` call.
    pub calls: Vec<(String, String, usize)>,
    /// (file, swift table name, arguments as written) per `CABI.name(` call.
    pub call_args: Vec<(String, String, Vec<String>)>,
    /// (file, function) per direct `moae_*(` call outside the table.
    pub direct_calls: Vec<(String, String)>,
    /// (file, field) per `.snake_case` member access: C fields (Swift API names are camelCase).
    pub snake_members: Vec<(String, String)>,
}

/// Strips `//` and `/* */` comments and string literals' contents (keeps the quotes).
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if b[i] == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Index just past the bracket matching the one at `open`.
fn matching(s: &[char], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, &c) in s.iter().enumerate().skip(open) {
        match c {
            '(' | '[' | '<' | '{' => depth += 1,
            ')' | ']' | '>' | '}' => {
                // `->` is an arrow, not a closing angle bracket.
                if c == '>' && i > 0 && s[i - 1] == '-' {
                    continue;
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Top-level comma split of a parameter or argument list (brackets of all kinds nest).
pub fn split_args(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '(' | '[' | '<' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '>' if i == 0 || chars[i - 1] != '-' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter().map(|a| a.trim().to_string()).collect()
}

pub fn norm_type(t: &str) -> String {
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.replace('!', "?");
    if t == "()" {
        "Void".into()
    } else {
        t
    }
}

fn ident_at(s: &[char], i: usize) -> String {
    s[i..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .collect()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub fn scan(files: &[(String, String)]) -> Result<SwiftUse, String> {
    let mut u = SwiftUse::default();
    for (file, src) in files {
        let text = strip(src);
        let s: Vec<char> = text.chars().collect();
        let mut table_spans: Vec<(usize, usize)> = Vec::new();

        // 1. `static let NAME: (PARAMS) -> RET = moae_fn`
        let pat: Vec<char> = "static let ".chars().collect();
        let mut i = 0;
        while let Some(start) = find(&s, &pat, i) {
            i = start + pat.len();
            let name = ident_at(&s, i);
            let mut j = skip_ws(&s, i + name.len());
            if s.get(j) != Some(&':') {
                continue;
            }
            j = skip_ws(&s, j + 1);
            if s.get(j) != Some(&'(') {
                continue; // a key-path list or another constant
            }
            let close =
                matching(&s, j).ok_or_else(|| format!("{file}: unbalanced `(` in {name}"))?;
            let params: String = s[j + 1..close - 1].iter().collect();
            let k = skip_ws(&s, close);
            if s.get(k) != Some(&'-') || s.get(k + 1) != Some(&'>') {
                return Err(format!(
                    "{file}: {name}: expected `-> ReturnType` after the parameters"
                ));
            }
            let eq = find(&s, &['='], k + 2)
                .ok_or_else(|| format!("{file}: {name}: expected `= moae_function`"))?;
            let ret: String = s[k + 2..eq].iter().collect();
            let t = skip_ws(&s, eq + 1);
            let target = ident_at(&s, t);
            if !target.starts_with("moae_") {
                continue;
            }
            table_spans.push((start, t + target.len()));
            u.table.push(TableEntry {
                swift_name: name,
                c_name: target,
                params: split_args(&params).iter().map(|p| norm_type(p)).collect(),
                ret: norm_type(&ret),
            });
        }

        // 2. key-path lists: `[PartialKeyPath<moae_x>] = [ \.a, \.b ]`
        let mut from = 0;
        while let Some(pos) = text[from..].find("PartialKeyPath<") {
            let at = from + pos + "PartialKeyPath<".len();
            let sname: String = text[at..]
                .chars()
                .take_while(|c| is_ident_char(*c))
                .collect();
            let Some(eq) = text[at..].find("= [") else {
                break;
            };
            let list_start = at + eq + 3;
            let list_end = text[list_start..]
                .find(']')
                .map_or(text.len(), |e| list_start + e);
            let fields = text[list_start..list_end]
                .split(',')
                .map(|f| f.trim().trim_start_matches("\\.").trim().to_string())
                .filter(|f| !f.is_empty())
                .collect();
            u.fields
                .entry(sname)
                .or_insert_with(Vec::new)
                .extend::<Vec<String>>(fields);
            from = list_end;
        }

        // 3. call sites and direct calls, snake_case members.
        let in_table = |k: usize| table_spans.iter().any(|&(a, b)| k >= a && k < b);
        for k in 0..s.len() {
            let starts_ident = is_ident_char(s[k]) && (k == 0 || !is_ident_char(s[k - 1]));
            if starts_ident && !in_table(k) {
                let word = ident_at(&s, k);
                let after = k + word.chars().count();
                let next = s[after..].iter().find(|c| !c.is_whitespace());
                if word.starts_with("moae_") && next == Some(&'(') {
                    u.direct_calls.push((file.clone(), word.clone()));
                }
                if word == "CABI" && s.get(after) == Some(&'.') {
                    let fname = ident_at(&s, after + 1);
                    let p = after + 1 + fname.chars().count();
                    if s.get(p) == Some(&'(') {
                        let close = matching(&s, p)
                            .ok_or_else(|| format!("{file}: unbalanced call of CABI.{fname}"))?;
                        let args: String = s[p + 1..close - 1].iter().collect();
                        let args = split_args(&args);
                        u.calls.push((file.clone(), fname.clone(), args.len()));
                        u.call_args.push((file.clone(), fname, args));
                    }
                }
            }
            if s[k] == '.' && k + 1 < s.len() && s[k + 1].is_ascii_lowercase() && !in_table(k) {
                let member = ident_at(&s, k + 1);
                // `\.field` key paths belong to the lists of step 2.
                let key_path = k > 0 && s[k - 1] == '\\';
                if member.contains('_') && !key_path && !member.starts_with('_') {
                    u.snake_members.push((file.clone(), member));
                }
            }
        }
    }
    Ok(u)
}

fn find(s: &[char], pat: &[char], from: usize) -> Option<usize> {
    (from..s.len().saturating_sub(pat.len() - 1)).find(|&i| s[i..].starts_with(pat))
}

fn skip_ws(s: &[char], mut i: usize) -> usize {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    i
}
