//! A small parser for the subset of C that cbindgen writes into `moae.h`: typedefs, structs,
//! enums, function-pointer typedefs and function prototypes. Enough to know, per function, its
//! parameter and return types, and per struct, its field names.

use std::collections::{BTreeMap, BTreeSet};

/// A C type as written: base name, pointer levels, and constness of each level's pointee.
#[derive(Debug, Clone, PartialEq)]
pub struct CType {
    pub base: String,
    /// `const` on the base type (the innermost pointee).
    pub base_const: bool,
    /// One entry per `*`, outermost last: whether that pointer itself is `const` (ignored by
    /// Swift's importer but kept for completeness).
    pub pointers: usize,
}

#[derive(Debug, Clone)]
pub struct CFunction {
    pub ret: CType,
    pub params: Vec<CType>,
}

#[derive(Debug, Default)]
pub struct Header {
    pub functions: BTreeMap<String, CFunction>,
    /// Struct name -> field names (complete structs only).
    pub structs: BTreeMap<String, BTreeSet<String>>,
    /// `typedef A B;` of non-struct types: B -> A.
    pub aliases: BTreeMap<String, CType>,
    pub enums: BTreeSet<String>,
    /// Structs declared but never defined (`typedef struct moae_engine moae_engine;`).
    pub opaque: BTreeSet<String>,
    pub fn_pointers: BTreeSet<String>,
}

/// Comments out, and preprocessor conditionals resolved the way Swift's Clang importer sees
/// the header: C (not C++), C17 (`__STDC_VERSION__` < C23). So `#ifdef __cplusplus` blocks
/// (`extern "C" {`) and C23-only branches are dropped, their `#else` kept; other conditions
/// (include guards) count as true.
fn clean(text: &str) -> String {
    let mut no_comments = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('/') {
        no_comments.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(body) = tail.strip_prefix("/*") {
            rest = body.find("*/").map_or("", |j| &body[j + 2..]);
            no_comments.push(' ');
        } else if tail.starts_with("//") {
            rest = tail.find('\n').map_or("", |j| &tail[j..]);
        } else {
            no_comments.push('/');
            rest = &tail[1..];
        }
    }
    no_comments.push_str(rest);

    let mut out = String::new();
    // One entry per open #if: (this branch active, some branch already taken).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let active = |stack: &Vec<(bool, bool)>| stack.iter().all(|&(a, _)| a);
    let mut continued = false;
    for line in no_comments.lines() {
        let t = line.trim();
        if continued {
            continued = t.ends_with('\\');
            continue;
        }
        if let Some(d) = t.strip_prefix('#') {
            continued = t.ends_with('\\');
            let d = d.trim();
            let word: String = d.chars().take_while(|c| c.is_alphabetic()).collect();
            let arg = d[word.len()..].trim();
            match word.as_str() {
                "ifdef" => {
                    let v = arg != "__cplusplus";
                    stack.push((v, v));
                }
                "ifndef" => stack.push((true, true)),
                "if" => {
                    let v = condition(arg);
                    stack.push((v, v));
                }
                "elif" => {
                    if let Some(top) = stack.last_mut() {
                        let v = !top.1 && condition(arg);
                        *top = (v, top.1 || v);
                    }
                }
                "else" => {
                    if let Some(top) = stack.last_mut() {
                        *top = (!top.1, true);
                    }
                }
                "endif" => {
                    stack.pop();
                }
                _ => {} // #define, #include, #pragma
            }
            continue;
        }
        if active(&stack) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `#if` as the Swift importer evaluates it, for the conditions cbindgen writes.
fn condition(expr: &str) -> bool {
    let e: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    if e.starts_with("!defined(__cplusplus)") {
        return true;
    }
    // `defined(__cplusplus)`, `__cplusplus`, `__STDC_VERSION__>=202311L` (C23) are all false,
    // and cbindgen only ORs them together.
    !(e.contains("__cplusplus") || e.contains("__STDC_VERSION__>=2023"))
}

fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_alphanumeric() || ch == '_' {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !ch.is_whitespace() {
                out.push(ch.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Splits a declaration like `const moae_options *opts` or `size_t strides[3]` into its type
/// and (optional) name. Arrays count as one pointer level (as parameters decay to).
pub fn parse_decl(decl: &str) -> Result<(CType, Option<String>), String> {
    let toks = tokens(decl);
    let mut base_const = false;
    let mut pointers = 0;
    let mut words: Vec<String> = Vec::new();
    let mut array = false;
    for t in &toks {
        match t.as_str() {
            "const" => {
                if pointers == 0 {
                    base_const = true;
                }
            }
            "*" => pointers += 1,
            "[" => array = true,
            "]" | "volatile" | "restrict" => {}
            "struct" | "enum" => {}
            w if array => {
                let _ = w; // array length
            }
            w => words.push(w.to_string()),
        }
    }
    if array {
        pointers += 1;
    }
    // `unsigned int`, `long long` etc. are not used by cbindgen with stdint types; keep last
    // word as the name only when there are two or more words.
    let name = if words.len() >= 2 { words.pop() } else { None };
    let base = words.join(" ");
    if base.is_empty() {
        return Err(format!("cannot parse the C declaration `{decl}`"));
    }
    Ok((
        CType {
            base,
            base_const,
            pointers,
        },
        name,
    ))
}

fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for ch in s.chars() {
        match ch {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ => {}
        }
        if ch == sep && depth == 0 {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

pub fn parse(text: &str) -> Result<Header, String> {
    let mut h = Header::default();
    let mut declared_structs = BTreeSet::new();
    for stmt in split_top(&clean(text), ';') {
        let s = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        // A compile-time assertion (the header's 64-bit check) declares nothing.
        if s.is_empty() || s.starts_with("_Static_assert") || s.starts_with("static_assert") {
            continue;
        }
        if let Some(open) = s.find('{') {
            // struct/enum definition, typedef'd or not: `typedef struct X { ... } Y` / `enum X {..}`
            let close = s
                .rfind('}')
                .ok_or_else(|| format!("unbalanced braces in `{s}`"))?;
            let head = tokens(&s[..open]);
            let body = &s[open + 1..close];
            let after = tokens(&s[close + 1..]);
            let is_enum = head.iter().any(|t| t == "enum");
            let mut names: Vec<String> = head
                .iter()
                .filter(|t| !matches!(t.as_str(), "typedef" | "struct" | "enum" | "union"))
                .cloned()
                .collect();
            names.extend(after.iter().filter(|t| t.as_str() != ",").cloned());
            if is_enum {
                h.enums.extend(names);
            } else {
                let mut fields = BTreeSet::new();
                for f in split_top(body, ';') {
                    if f.trim().is_empty() {
                        continue;
                    }
                    // `float x, y, width, height` declares several names.
                    let parts = split_top(&f, ',');
                    let (_, first) = parse_decl(&parts[0])?;
                    fields.extend(first);
                    for p in &parts[1..] {
                        fields.extend(tokens(p).into_iter().rev().find(|t| t != "*"));
                    }
                }
                for n in names {
                    h.structs.insert(n, fields.clone());
                }
            }
            continue;
        }
        if let Some(body) = s.strip_prefix("typedef ") {
            if let Some(i) = body.find("(*") {
                let name = tokens(&body[i + 2..])
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                h.fn_pointers.insert(name);
            } else if body.starts_with("struct ") {
                let t = tokens(body);
                declared_structs.insert(t.last().cloned().unwrap_or_default());
            } else {
                let (ty, name) = parse_decl(body)?;
                let name = name.ok_or_else(|| format!("typedef without a name: `{s}`"))?;
                h.aliases.insert(name, ty);
            }
            continue;
        }
        if let Some(open) = s.find('(') {
            let close = s
                .rfind(')')
                .ok_or_else(|| format!("unbalanced parens in `{s}`"))?;
            let (ret, name) = parse_decl(&s[..open])?;
            let name = name.ok_or_else(|| format!("function without a name: `{s}`"))?;
            let inner = s[open + 1..close].trim();
            let params = if inner.is_empty() || inner == "void" {
                Vec::new()
            } else {
                split_top(inner, ',')
                    .iter()
                    .map(|p| parse_decl(p).map(|(t, _)| t))
                    .collect::<Result<_, _>>()?
            };
            h.functions.insert(name, CFunction { ret, params });
        }
    }
    h.opaque = declared_structs
        .into_iter()
        .filter(|n| !h.structs.contains_key(n))
        .collect();
    Ok(h)
}

fn scalar_swift(c: &str) -> Option<&'static str> {
    Some(match c {
        "int8_t" => "Int8",
        "uint8_t" => "UInt8",
        "int16_t" => "Int16",
        "uint16_t" => "UInt16",
        "int32_t" | "int" => "Int32",
        "uint32_t" | "unsigned" | "unsigned int" => "UInt32",
        "int64_t" => "Int64",
        "uint64_t" => "UInt64",
        "size_t" | "intptr_t" | "ptrdiff_t" => "Int",
        "uintptr_t" => "UInt",
        "float" => "Float",
        "double" => "Double",
        "bool" | "_Bool" => "Bool",
        "char" => "CChar",
        _ => return None,
    })
}

impl Header {
    /// Every spelling Swift code may use for the base type (a typedef'd name or what it
    /// aliases), without pointers.
    fn base_spellings(&self, base: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if base == "void" {
            out.insert("Void".to_string());
            out.insert("()".to_string());
            return out;
        }
        if let Some(s) = scalar_swift(base) {
            out.insert(s.to_string());
            if s == "CChar" {
                out.insert("Int8".to_string());
            }
        }
        if self.structs.contains_key(base) || self.enums.contains(base) {
            out.insert(base.to_string());
        }
        if self.fn_pointers.contains(base) {
            out.insert(format!("{base}?"));
        }
        if let Some(target) = self.aliases.get(base) {
            out.insert(base.to_string());
            if target.pointers == 0 {
                out.extend(self.base_spellings(&target.base));
            }
        }
        out
    }

    /// Every Swift spelling the importer accepts for a C type (parameters and returns:
    /// pointers are optional, `!` is written `?`).
    pub fn swift_spellings(&self, t: &CType) -> BTreeSet<String> {
        self.spell(&t.base, t.base_const, t.pointers)
    }

    fn spell(&self, base: &str, base_const: bool, pointers: usize) -> BTreeSet<String> {
        if pointers == 0 {
            return self.base_spellings(base);
        }
        if pointers == 1 {
            if base == "void" {
                let raw = if base_const {
                    "UnsafeRawPointer?"
                } else {
                    "UnsafeMutableRawPointer?"
                };
                return BTreeSet::from([raw.to_string()]);
            }
            if self.opaque.contains(base) {
                return BTreeSet::from(["OpaquePointer?".to_string()]);
            }
        }
        let wrapper = if pointers == 1 && base_const {
            "UnsafePointer"
        } else {
            "UnsafeMutablePointer"
        };
        self.spell(base, base_const, pointers - 1)
            .into_iter()
            .map(|inner| format!("{wrapper}<{inner}>?"))
            .collect()
    }
}
