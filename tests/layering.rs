//! Issue 14, item 1: `src/unix` is a stack read downward only, and stays one.
//!
//! Each file of `src/unix` has a layer (the table [`LAYERS`], the diagram in
//! `src/unix/mod.rs`'s module docs); a module may name only modules of a
//! lower layer — through `super::<module>` (in a `use` or a path, `use
//! super::{a, b}` groups included) or `crate::unix::<module>` — and never the
//! items of `mod.rs` itself (`super::<item>`, `super::super::<item>` from a
//! nested module), which is the top. A file of `src/unix` without a layer in
//! the table fails the test (a new module must be placed).
//!
//! A source scan (comments, strings and character literals skipped; nested
//! inline modules such as `mod tests { use super::*; }` resolved), so it
//! runs on stable in plain `cargo test` on every host.

use std::path::Path;

/// The layers, highest first: a module may use only modules of a strictly
/// lower rank (the same rank is not allowed either: `cache` and `engine` are
/// independent).
const LAYERS: &[(&str, u32)] = &[
    // Entry: the public face (module docs, re-exports) and the nine functions.
    ("mod", 6),
    ("api", 5),
    // The synchronous path and the asynchronous engine.
    ("cache", 4),
    ("engine", 4),
    // The engine's APC queues, then its events (apc uses event).
    ("apc", 3),
    // Registered waits: one waiter thread over events (beside apc).
    ("wait", 3),
    ("event", 2),
    // Sockets: everything both paths use.
    ("sock", 1),
    // The pure packet / reply-buffer code.
    ("reply", 0),
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, r)| r)
}

/// The code of a file with comments, string literals and character
/// literals blanked out (same line structure).
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_ident(&b, i) {
            // Raw string r"..." / r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                if b[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), else a lifetime.
            let end = if next == Some('\\') {
                (i + 2..b.len()).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.push_str("' '");
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// What a file names above itself: (line, the named module or `mod` item).
/// `file` is the module's name (`mod` for mod.rs).
fn references(file: &str, text: &str) -> Vec<(usize, String, String)> {
    let code = code_only(text);
    let mut out = Vec::new();
    // The inline modules open at each brace depth: inside `mod tests { }`,
    // `super` is the file's own module.
    let mut depth = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut pending_mod = false;
    for (n, line) in code.lines().enumerate() {
        let lineno = n + 1;
        let t = line.trim_start();
        if t.starts_with("mod ")
            || t.starts_with("pub mod ")
            || t.starts_with("pub(crate) mod ")
            || t.starts_with("pub(super) mod ")
        {
            pending_mod = !t.trim_end().ends_with(';');
        }
        // Paths on this line.
        let mut rest = line;
        while let Some(at) = find_path_start(rest) {
            let (prefix_len, ups) = at.1;
            let tail = &rest[at.0 + prefix_len..];
            let nest = inline_mods.len();
            // `super` climbs out of inline modules first.
            let target = if let Some(u) = ups {
                if u <= nest {
                    None // inside this file
                } else if u == nest + 1 {
                    Some(())
                } else {
                    // Above src/unix entirely: not ours to rank.
                    None
                }
            } else {
                Some(()) // crate::unix::
            };
            if target.is_some() && file != "mod" {
                for name in first_segments(tail) {
                    out.push((lineno, name.clone(), line.trim().to_string()));
                }
            }
            rest = &rest[at.0 + prefix_len..];
        }
        for ch in line.chars() {
            match ch {
                '{' => {
                    depth += 1;
                    if pending_mod {
                        inline_mods.push(depth);
                        pending_mod = false;
                    }
                }
                '}' => {
                    if inline_mods.last() == Some(&depth) {
                        inline_mods.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                _ => {}
            }
        }
    }
    out
}

/// The next `super::`… or `crate::unix::` path in `s`: (offset, (prefix
/// length, number of `super`s or None for crate::unix)).
fn find_path_start(s: &str) -> Option<(usize, (usize, Option<usize>))> {
    let bytes = s.as_bytes();
    let mut from = 0;
    loop {
        let a = s[from..].find("super::").map(|p| p + from);
        let c = s[from..].find("crate::unix::").map(|p| p + from);
        let at = match (a, c) {
            (Some(a), Some(c)) => a.min(c),
            (Some(a), None) => a,
            (None, Some(c)) => c,
            (None, None) => return None,
        };
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            from = at + 1;
            continue;
        }
        if s[at..].starts_with("crate::unix::") {
            return Some((at, ("crate::unix::".len(), None)));
        }
        let mut len = 0;
        let mut ups = 0;
        while s[at + len..].starts_with("super::") {
            len += "super::".len();
            ups += 1;
        }
        return Some((at, (len, Some(ups))));
    }
}

/// The first path segments after a prefix: `engine::x` → [engine],
/// `{a, b::c, self}` → [a, b]. `*` names every item of mod.rs.
fn first_segments(tail: &str) -> Vec<String> {
    let tail = tail.trim_start();
    if let Some(group) = tail.strip_prefix('{') {
        let mut names = Vec::new();
        let mut level = 0;
        let mut start = true;
        for (i, ch) in group.char_indices() {
            match ch {
                '{' => level += 1,
                '}' if level == 0 => break,
                '}' => level -= 1,
                ',' if level == 0 => start = true,
                c if start && !c.is_whitespace() => {
                    start = false;
                    let name = if c == '*' {
                        "*".to_string()
                    } else {
                        ident_at(&group[i..])
                    };
                    if !name.is_empty() {
                        names.push(name);
                    }
                }
                _ => {}
            }
        }
        names
    } else if tail.starts_with('*') {
        vec!["*".to_string()]
    } else {
        let name = ident_at(tail);
        if name.is_empty() { vec![] } else { vec![name] }
    }
}

/// The layering violations of one file, as messages.
fn violations(file: &str, text: &str) -> Vec<String> {
    let Some(own) = rank(file) else {
        return vec![format!(
            "src/unix/{file}.rs has no layer: add it to LAYERS in tests/layering.rs and to the diagram in src/unix/mod.rs"
        )];
    };
    let mut out = Vec::new();
    for (line, name, code) in references(file, text) {
        // A module of the stack, else an item (or `*`) of mod.rs: the top.
        let (what, r) = match rank(&name) {
            Some(r) if name != "mod" => (format!("module `{name}`"), r),
            _ => (format!("`{name}` of mod.rs"), rank("mod").unwrap()),
        };
        if r >= own {
            out.push(format!(
                "src/unix/{file}.rs:{line}: layer {own} names {what} (layer {r}): {code}"
            ));
        }
    }
    out
}

#[test]
fn src_unix_modules_use_only_lower_layers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/unix");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read src/unix")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "found only {names:?} in src/unix");
    let mut report = Vec::new();
    let mut refs = 0;
    for name in &names {
        let text = std::fs::read_to_string(dir.join(format!("{name}.rs"))).expect("read source");
        refs += references(name, &text).len();
        report.extend(violations(name, &text));
    }
    // The scan must have found the imports (a parser that finds nothing would
    // pass vacuously).
    assert!(refs >= 10, "the scan found only {refs} references");
    assert!(
        report.is_empty(),
        "{} layering violation(s) in src/unix (see tests/layering.rs and src/unix/mod.rs):\n{}",
        report.len(),
        report.join("\n")
    );
}

/// The scanner and the rule themselves can fail.
#[test]
fn the_check_catches_upward_references() {
    let bad = r#"
use super::engine;
use super::{reply, api::write_result, set_last_error};
fn f() { super::cache::run(); let s = "super::api"; // super::api
}
mod tests {
    use super::*;
    fn g() { super::super::errno_location(); }
}
"#;
    let v = violations("sock", bad);
    let named: Vec<&str> = v
        .iter()
        .map(|m| m.split(" names ").nth(1).unwrap())
        .collect();
    assert_eq!(v.len(), 5, "{v:#?}");
    assert!(named[0].starts_with("module `engine`"), "{v:#?}");
    assert!(named[1].starts_with("module `api`"), "{v:#?}");
    assert!(named[2].starts_with("`set_last_error` of mod.rs"), "{v:#?}");
    assert!(named[3].starts_with("module `cache`"), "{v:#?}");
    assert!(named[4].starts_with("`errno_location` of mod.rs"), "{v:#?}");
    // Downward is fine; an unranked file is not.
    assert!(violations("api", "use super::{engine, sock};\n").is_empty());
    assert!(violations("engine", "use crate::unix::cache;\n").len() == 1);
    assert_eq!(violations("newfile", "").len(), 1);
    assert!(violations("reply", "use crate::ipexport::*;\n").is_empty());
}
