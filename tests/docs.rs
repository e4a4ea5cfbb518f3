//! Issue 8, item 17: the documentation promise of `lib.rs` is checked, not
//! just true today.
//!
//! Every public item of the API modules — every `.rs` file under `src/`
//! except `lib.rs`, `layout.rs`, `verify*` and the `unix` backend, i.e.
//! `ipexport`, `icmpapi`, `helper` and whatever module joins them — must say
//! in its doc comment:
//! - its Microsoft Learn page, as a Markdown link
//!   `[Title](https://learn.microsoft.com/en-us/...)`, or `No Microsoft Learn
//!   page: <why>` where none exists;
//! - for a struct, a union and each of the nine functions: its pitfall, a
//!   line starting `Pitfall:` / `Pitfalls:`.
//!
//! "Public item" = a `pub` item (const, static, type, struct, union, enum,
//! trait, fn — methods of inherent impls included — and a `pub use` of one
//! name, which carries the documentation of the nine functions) and every
//! entry of the `ip_status!` table (each becomes a `pub const`). Not checked:
//! fields and enum variants (their type's page covers them), modules, and
//! glob or list re-exports (they carry no documentation of their own).
//!
//! A source scan, so it runs on stable in plain `cargo test` on every host.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One public item and what its doc comment says.
#[derive(Debug)]
struct Item {
    file: String,
    line: usize,
    kind: &'static str,
    name: String,
    doc: String,
}

const KINDS: &[(&str, &str)] = &[
    ("const fn ", "fn"),
    ("const unsafe fn ", "fn"),
    ("unsafe fn ", "fn"),
    ("unsafe extern \"system\" fn ", "fn"),
    ("fn ", "fn"),
    ("const ", "const"),
    ("static ", "static"),
    ("type ", "type"),
    ("struct ", "struct"),
    ("union ", "union"),
    ("enum ", "enum"),
    ("trait ", "trait"),
    ("use ", "use"),
];

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The public items of one source file, with their doc comments.
fn scan(file: &str, text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut doc = String::new();
    // Inside `macro_rules!` bodies (their `pub const $name` is not an item of
    // this file) or `#[cfg(test)]` modules, until the closing brace at this
    // indentation.
    let mut skip_until: Option<String> = None;
    let mut cfg_test = false;
    let mut in_attr = false;
    let mut in_status = false;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if let Some(end) = &skip_until {
            if line == end {
                skip_until = None;
            }
            continue;
        }
        if in_attr {
            in_attr = !t.ends_with(']');
            continue;
        }
        if let Some(d) = t.strip_prefix("///") {
            doc.push_str(d.strip_prefix(' ').unwrap_or(d));
            doc.push('\n');
            continue;
        }
        if t.starts_with("#[") || t.starts_with("#![") {
            cfg_test |= t.starts_with("#[cfg(test)]");
            in_attr = !t.ends_with(']');
            continue;
        }
        if t.starts_with("macro_rules!") || (cfg_test && t.starts_with("mod ")) {
            if !t.ends_with(';') && !t.ends_with('}') {
                skip_until = Some(format!("{indent}}}"));
            }
            doc.clear();
            cfg_test = false;
            continue;
        }
        cfg_test = false;
        if t.starts_with("ip_status! {") {
            in_status = true;
            doc.clear();
            continue;
        }
        if in_status {
            if t.starts_with('}') {
                in_status = false;
            } else if t.contains(" => ") {
                items.push(Item {
                    file: file.into(),
                    line: n + 1,
                    kind: "const",
                    name: ident(t),
                    doc: std::mem::take(&mut doc),
                });
            }
            doc.clear();
            continue;
        }
        if let Some(rest) = t.strip_prefix("pub ") {
            if let Some((prefix, kind)) = KINDS.iter().find(|(p, _)| rest.starts_with(p)) {
                let rest = &rest[prefix.len()..];
                // `pub use a::b::Name;`: the last path segment; skip globs and lists.
                let name = if *kind == "use" {
                    let path = rest.trim_end_matches(';');
                    let last = path.rsplit("::").next().unwrap_or(path);
                    let last = last.rsplit(" as ").next().unwrap_or(last);
                    if last.contains(['*', '{', '}']) {
                        String::new()
                    } else {
                        ident(last)
                    }
                } else {
                    ident(rest)
                };
                if !name.is_empty() {
                    items.push(Item {
                        file: file.into(),
                        line: n + 1,
                        kind,
                        name,
                        doc: std::mem::take(&mut doc),
                    });
                }
            }
        }
        doc.clear();
    }
    items
}

/// What an item's documentation lacks, if anything.
fn problems(item: &Item) -> Vec<&'static str> {
    let mut out = Vec::new();
    let doc = &item.doc;
    let link = doc
        .match_indices("](https://learn.microsoft.com/en-us/")
        .any(|(at, _)| {
            // A Markdown link with a non-empty title: `[Title](url)`.
            doc[..at]
                .rfind('[')
                .is_some_and(|open| at > open + 1 && !doc[open..at].contains(']'))
        });
    let no_page = doc.lines().any(|l| {
        l.split_once("No Microsoft Learn page:")
            .is_some_and(|(_, why)| why.trim().len() > 3)
    });
    if !link && !no_page {
        out.push("no `[Title](https://learn.microsoft.com/en-us/...)` link and no `No Microsoft Learn page: <why>`");
    }
    if doc.contains("https://learn.microsoft.com/")
        && !doc.contains("https://learn.microsoft.com/en-us/")
    {
        out.push("Microsoft Learn link not to the en-us page");
    }
    let needs_pitfall =
        matches!(item.kind, "struct" | "union") || item.file.ends_with("icmpapi.rs");
    let pitfall = doc
        .lines()
        .any(|l| l.starts_with("Pitfall:") || l.starts_with("Pitfalls:"));
    if needs_pitfall && !pitfall {
        out.push("no `Pitfall:` line (required on structs, unions and the nine functions)");
    }
    out
}

/// The source files the promise covers.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "unix" && name != "verify" {
                    dirs.push(path);
                }
            } else if name.ends_with(".rs")
                && !matches!(name.as_str(), "lib.rs" | "layout.rs" | "verify.rs")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_public_item_names_its_microsoft_learn_page_and_pitfall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut report = String::new();
    let mut total = 0;
    let mut bad_total = 0;
    let mut summary = String::new();
    for path in files(root) {
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).expect("read source");
        let items = scan(&rel, &text);
        let mut bad = 0;
        for item in &items {
            let p = problems(item);
            if !p.is_empty() {
                bad += 1;
                writeln!(
                    report,
                    "{}:{}: {} {}: {}",
                    item.file,
                    item.line,
                    item.kind,
                    item.name,
                    p.join("; ")
                )
                .unwrap();
            }
        }
        writeln!(summary, "  {rel}: {bad} of {} items lack it", items.len()).unwrap();
        total += items.len();
        bad_total += bad;
    }
    // The scan itself must have found the API: a parser that finds nothing
    // would pass vacuously.
    assert!(total >= 100, "the scan found only {total} public items");
    assert!(
        bad_total == 0,
        "{bad_total} of {total} public items break the documentation promise of lib.rs:\n{summary}\n{report}"
    );
}

/// The scanner and the rules themselves can fail.
#[test]
fn the_check_catches_missing_pages_and_pitfalls() {
    let src = r#"
/// A thing.
pub const UNDOCUMENTED: u32 = 1;
/// A thing. See [](https://learn.microsoft.com/en-us/x).
pub const EMPTY_TITLE: u32 = 1;
/// [Page](https://learn.microsoft.com/de-de/x)
pub const WRONG_LOCALE: u32 = 1;
/// [Page](https://learn.microsoft.com/en-us/x)
#[repr(C)]
#[derive(
    Clone
)]
pub struct NO_PITFALL {
    pub Field: u32,
}
/// No Microsoft Learn page: the crate's own.
/// Pitfall: none known.
pub struct GOOD;
/// No Microsoft Learn page: the crate's own.
impl GOOD {
    /// Nothing.
    pub const fn method(&self) {}
}
macro_rules! m { () => { pub const $name: u32 = 0; } }
ip_status! {
    /// [IP_X](https://learn.microsoft.com/en-us/x)
    IP_X = 1 => "x";
    IP_Y = 2 => "y";
}
#[cfg(test)]
mod tests {
    pub fn hidden() {}
}
pub use imp::*;
"#;
    let items = scan("src/sample.rs", src);
    let names: Vec<_> = items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "UNDOCUMENTED",
            "EMPTY_TITLE",
            "WRONG_LOCALE",
            "NO_PITFALL",
            "GOOD",
            "method",
            "IP_X",
            "IP_Y"
        ]
    );
    let bad: Vec<_> = items
        .iter()
        .filter(|i| !problems(i).is_empty())
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        bad,
        [
            "UNDOCUMENTED",
            "EMPTY_TITLE",
            "WRONG_LOCALE",
            "NO_PITFALL",
            "method",
            "IP_Y"
        ]
    );
    // A function of icmpapi.rs needs a pitfall too.
    let f = scan(
        "src/icmpapi.rs",
        "/// [F](https://learn.microsoft.com/en-us/f)\npub use imp::F;\n",
    );
    assert_eq!(f.len(), 1);
    assert_eq!(problems(&f[0]).len(), 1);
}

/// The platforms of `cfg(icmp_api)` as build.rs lists them.
fn icmp_api_platforms(build_rs: &str) -> Vec<String> {
    let at = build_rs
        .find("matches!(")
        .expect("build.rs: the icmp_api OS list");
    let rest = build_rs[at + "matches!(".len()..]
        .trim_start()
        .strip_prefix("os.as_str(),")
        .expect("build.rs: matches!(os.as_str(), <the OS list>)");
    let list = &rest[..rest.find(')').unwrap()];
    let mut os: Vec<String> = list
        .split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    os.sort();
    os
}

/// The OS list of each `doc(cfg(any(...)))` badge in `src/`.
fn badge_platforms(root: &Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("doc(cfg(any(") {
                let rest = &text[at + "doc(cfg(any(".len()..];
                let list = &rest[..rest.find(')').unwrap()];
                let mut os: Vec<String> = list
                    .split(',')
                    .map(|t| t.trim())
                    .filter(|t| !t.is_empty())
                    .map(|t| match t.split_once('=') {
                        Some((_, v)) => v.trim().trim_matches('"').to_string(),
                        None => t.to_string(),
                    })
                    .collect();
                os.sort();
                let line = text[..at].lines().count() + 1;
                out.push((format!("{}:{line}", path.display()), os));
            }
        }
    }
    out
}

/// Issue 8, item 18: the docs.rs badges of items gated on `cfg(icmp_api)`
/// name the platforms build.rs enables it for (the Unix backend's: the same
/// without Windows), so the one list in build.rs and the badges cannot drift.
#[test]
fn docs_rs_badges_name_the_icmp_api_platforms_of_build_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all = icmp_api_platforms(&std::fs::read_to_string(root.join("build.rs")).unwrap());
    assert!(
        all.contains(&"windows".to_string()),
        "build.rs list: {all:?}"
    );
    let unix: Vec<String> = all.iter().filter(|o| *o != "windows").cloned().collect();
    let badges = badge_platforms(root);
    assert!(badges.len() >= 4, "badges found: {badges:?}");
    for (at, os) in badges {
        assert!(
            os == all || os == unix,
            "{at}: doc(cfg) badge lists {os:?}; build.rs enables icmp_api on {all:?}"
        );
    }
}

/// The conformance cases of `tests/conformance.rs` (`#[test]` functions).
fn conformance_cases(text: &str) -> Vec<String> {
    let mut cases = Vec::new();
    let mut test_attr = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "#[test]" {
            test_attr = true;
        } else if let Some(rest) = t.strip_prefix("fn ") {
            if test_attr {
                cases.push(ident(rest));
            }
            test_attr = false;
        } else if !t.starts_with("#[") && !t.starts_with("///") && !t.is_empty() {
            test_attr = false;
        }
    }
    cases
}

/// README's conformance table: (case, cells) of each row.
fn conformance_table(readme: &str) -> Vec<(String, Vec<String>)> {
    let start = readme
        .find("## Conformance with Windows")
        .expect("README has a '## Conformance with Windows' section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect();
            (cells[0].trim_matches('`').to_string(), cells)
        })
        .collect()
}

/// Issue 15: README's conformance table lists exactly the cases of
/// `tests/conformance.rs`, once each, in the file's order, each row with a
/// cell for Windows, Wine 8.0, Wine 10.0 and Unix; and the Unix column says
/// `=` (as Windows) in every row: the Unix backend departs nowhere.
#[test]
fn readme_conformance_table_is_the_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| {
        std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("reading {p}: {e}"))
    };
    let cases = conformance_cases(&read("tests/conformance.rs"));
    let rows = conformance_table(&read("README.md"));
    assert!(cases.len() >= 20, "conformance cases found: {cases:?}");
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        cases.iter().map(String::as_str).collect::<Vec<_>>(),
        "README's conformance table vs the #[test] cases of tests/conformance.rs"
    );
    for (name, cells) in &rows {
        assert_eq!(
            cells.len(),
            5,
            "{name}: case, Windows, Wine 8.0, Wine 10.0, Unix"
        );
        assert_eq!(
            cells[4], "=",
            "{name}: the Unix backend departs from Windows"
        );
    }
}

#[test]
fn the_conformance_table_check_sees_rows_and_cases() {
    let readme = "x\n## Conformance with Windows: t\n\n| Case | W | 8 | 10 | U |\n\
                  |---|---|---|---|---|\n| `wt_a` | 1 | = | = | = |\n| `wt_b` | 2 | 3 | = | x |\n\
                  \n## Next\n| `wt_c` | 1 | = | = | = |\n";
    let rows = conformance_table(readme);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].1, ["`wt_b`", "2", "3", "=", "x"]);
    let src = "#[test]\nfn wt_a() {}\n\nfn helper() {}\n#[test]\n#[ignore = \"x\"]\nfn netns_silent_wt_b() {}\n";
    assert_eq!(conformance_cases(src), ["wt_a", "netns_silent_wt_b"]);
}
