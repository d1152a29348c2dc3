//! The Swift wrapper (ios/Sources) against the C header (include/moae.h): every C function it
//! calls must exist with the parameter count and types, and return type, its typed table
//! declares; call sites must pass that many arguments; every C struct field it uses must exist.

pub mod c_header;
pub mod swift;

/// All mismatches, one line each; empty = consistent.
pub fn check(header_text: &str, swift_files: &[(String, String)]) -> Vec<String> {
    let header = match c_header::parse(header_text) {
        Ok(h) => h,
        Err(e) => return vec![format!("header: {e}")],
    };
    let uses = match swift::scan(swift_files) {
        Ok(u) => u,
        Err(e) => return vec![format!("swift: {e}")],
    };
    let mut errors = Vec::new();
    if uses.table.is_empty() {
        errors.push(
            "no `static let name: (...) -> T = moae_fn` table found in the Swift sources".into(),
        );
    }
    for e in &uses.table {
        let Some(f) = header.functions.get(&e.c_name) else {
            errors.push(format!(
                "{} is called by the Swift wrapper (CABI.{}) but moae.h does not declare it",
                e.c_name, e.swift_name
            ));
            continue;
        };
        if f.params.len() != e.params.len() {
            errors.push(format!(
                "{}: moae.h has {} parameters, the Swift wrapper passes {}",
                e.c_name,
                f.params.len(),
                e.params.len()
            ));
            continue;
        }
        for (i, (c, s)) in f.params.iter().zip(&e.params).enumerate() {
            let ok = header.swift_spellings(c);
            if !ok.contains(s) {
                errors.push(format!(
                    "{} parameter {}: moae.h has `{:?}` (Swift: one of {:?}), the wrapper uses `{}`",
                    e.c_name,
                    i + 1,
                    c,
                    ok,
                    s
                ));
            }
        }
        let ok = header.swift_spellings(&f.ret);
        if !ok.contains(&e.ret) {
            errors.push(format!(
                "{} returns `{:?}` in moae.h (Swift: one of {:?}), the wrapper expects `{}`",
                e.c_name, f.ret, ok, e.ret
            ));
        }
    }
    for (file, name, argc) in &uses.calls {
        match uses.table.iter().find(|t| &t.swift_name == name) {
            None => errors.push(format!("{file}: CABI.{name} is not in the typed table")),
            Some(t) if t.params.len() != *argc => errors.push(format!(
                "{file}: CABI.{name} ({}) called with {argc} arguments, it takes {}",
                t.c_name,
                t.params.len()
            )),
            Some(_) => {}
        }
    }
    for (file, name) in &uses.direct_calls {
        if header.structs.contains_key(name) {
            continue; // `moae_image()`: Swift's zero-initialiser of a C struct
        }
        errors.push(format!(
            "{file}: calls {name}(...) directly; call it through the typed table in CABI.swift \
             so its types are checked"
        ));
    }
    for (sname, fields) in &uses.fields {
        let Some(known) = header.structs.get(sname) else {
            errors.push(format!(
                "struct {sname} is used by the Swift wrapper but moae.h does not define it"
            ));
            continue;
        };
        for f in fields {
            if !known.contains(f) {
                errors.push(format!(
                    "{sname}.{f} is used by the Swift wrapper but moae.h has no such field"
                ));
            }
        }
    }
    let listed: std::collections::BTreeSet<&String> = uses.fields.values().flatten().collect();
    for (file, m) in &uses.snake_members {
        if !listed.contains(m) {
            errors.push(format!(
                "{file}: C field `.{m}` is used but not listed in CABIFields (so not checked)"
            ));
        }
    }
    errors
}
