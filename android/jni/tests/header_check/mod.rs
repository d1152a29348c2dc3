//! The Swift wrapper (ios/Sources) against the C header (include/moae.h): every C function it
//! calls must exist with the parameter count and types, and return type, its typed table
//! declares; call sites must pass that many arguments; every C struct field it uses must exist.

pub mod c_header;
pub mod swift;

/// C functions the wrapper must not call although moae.h declares them, and why.
pub const NOT_FOR_SWIFT: [(&str, &str); 2] = [
    (
        "moae_options_init",
        "it writes only the ABI-v1 prefix of moae_options (struct_size 80), so the 0.2 fields \
         stay unset; call moae_options_init_sized with MemoryLayout<moae_options>.size",
    ),
    (
        "moae_image_init",
        "it writes only the ABI-v1 prefix of moae_image (struct_size 96), so mirrored and \
         yuv_range stay unset; call moae_image_init_sized with MemoryLayout<moae_image>.size",
    ),
];

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
    for e in &uses.table {
        if let Some((_, why)) = NOT_FOR_SWIFT.iter().find(|(n, _)| *n == e.c_name) {
            errors.push(format!(
                "{} is in the Swift table (CABI.{}) but must not be called: {why}",
                e.c_name, e.swift_name
            ));
        }
    }
    // A sized initialiser gets the size of the very struct it fills: `MemoryLayout<T>.size`
    // for its `UnsafeMutablePointer<T>?` parameter (not a number, not another struct's size).
    for e in uses
        .table
        .iter()
        .filter(|e| e.c_name.ends_with("_init_sized"))
    {
        let want = e
            .params
            .first()
            .and_then(|p| p.strip_prefix("UnsafeMutablePointer<"))
            .and_then(|p| p.strip_suffix(">?"))
            .map(|t| format!("MemoryLayout<{t}>.size"));
        for (file, _, args) in uses.call_args.iter().filter(|c| c.1 == e.swift_name) {
            let got = args.get(1).map(|a| swift::norm_type(a));
            if want.is_none() || got != want {
                errors.push(format!(
                    "{file}: CABI.{} ({}) must be passed `{}` as its size, got `{}`",
                    e.swift_name,
                    e.c_name,
                    want.as_deref().unwrap_or("MemoryLayout<the struct>.size"),
                    got.as_deref().unwrap_or("nothing")
                ));
            }
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
