//! The shape of `crates/scopegate/src`, checked on the source itself: the modules' imports form
//! no cycle, the core knows no vendor (outside comments, `logto` appears only in `logto.rs`
//! and `lib.rs`), and no file of a library crate (the core, scopegate-dev, scopegate-m2m,
//! scopegate-http) is over 400 lines outside its `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/scopegate/src")
}

/// Every `.rs` file under `dir`, with its top-level module (`jwks/set.rs` belongs to `jwks`).
fn files(dir: &Path, module: Option<&str>, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            files(&path, Some(module.unwrap_or(&name)), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let owner = module.map_or(name, str::to_owned);
            out.push((owner, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The code without comments. String, raw string and char literals are kept whole (a URL's `//`
/// is no comment, and `'"'` opens no string).
fn code(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    // Copies chars[from..to] (bounded by the end).
    let copy =
        |out: &mut String, from: usize, to: usize| out.extend(&chars[from..to.min(chars.len())]);
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        match (chars[i], next) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                let mut depth = 0;
                while i < chars.len() {
                    match (chars[i], chars.get(i + 1)) {
                        ('/', Some('*')) => (depth, i) = (depth + 1, i + 2),
                        ('*', Some('/')) => (depth, i) = (depth - 1, i + 2),
                        _ => i += 1,
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            ('r', Some('#' | '"'))
                if i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') =>
            {
                let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
                let open = i + 1 + hashes;
                if chars.get(open) != Some(&'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let closing: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let mut end = open + 1;
                while end < chars.len() && !chars[end..].starts_with(&closing) {
                    end += 1;
                }
                let to = end + closing.len();
                copy(&mut out, i, to);
                i = to;
            }
            ('"', _) => {
                let mut end = i + 1;
                while end < chars.len() && chars[end] != '"' {
                    end += if chars[end] == '\\' { 2 } else { 1 };
                }
                copy(&mut out, i, end + 1);
                i = end + 1;
            }
            // A char literal ('x', '\n', '\''); otherwise a lifetime, copied as it is.
            ('\'', Some('\\')) => {
                let mut end = i + 2;
                while end < chars.len() && chars[end] != '\'' {
                    end += 1;
                }
                copy(&mut out, i, end + 1);
                i = end + 1;
            }
            ('\'', Some(_)) if chars.get(i + 2) == Some(&'\'') => {
                copy(&mut out, i, i + 3);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `lib.rs`'s re-exports: item name → the module it comes from.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = item.trim().rsplit("::").next().unwrap().to_owned();
            if !item.is_empty() {
                names.insert(item, module.trim().to_owned());
            }
        }
    }
    names
}

/// The modules `code` refers to through `crate::…`, re-exports resolved.
fn references(code: &str, reexported: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut resolve = |name: String| {
        let module = reexported.get(&name).cloned().unwrap_or(name);
        if !module.is_empty() {
            found.insert(module);
        }
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap()];
            for item in group.split(',') {
                resolve(ident(item.trim()));
            }
        } else {
            resolve(ident(rest));
        }
    }
    found
}

#[test]
fn module_imports_form_no_cycle_and_only_the_preset_names_logto() {
    let mut sources = Vec::new();
    files(&source_dir(), None, &mut sources);
    let lib = sources.iter().find(|(m, _)| m == "lib").unwrap().1.clone();
    let reexported = reexports(&code(&lib));
    assert!(reexported.get("AuthConfig").is_some_and(|m| m == "config"));

    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, source) in &sources {
        let code = code(source);
        if module != "logto" && module != "lib" {
            assert!(
                !code.to_lowercase().contains("logto"),
                "{module} names logto outside comments"
            );
        }
        if module == "lib" {
            continue; // declares every module: not an import
        }
        let edges = graph.entry(module.clone()).or_default();
        for target in references(&code, &reexported) {
            if target != *module {
                edges.insert(target);
            }
        }
    }
    assert!(graph["config"].contains("audience"), "{graph:?}");
    assert!(graph["logto"].contains("config"), "{graph:?}");

    // Depth-first search; a grey node met again closes a cycle.
    fn visit<'g>(
        node: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<&'g str>,
        path: &mut Vec<&'g str>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(start) = path.iter().position(|n| *n == node) {
            panic!("import cycle: {} -> {node}", path[start..].join(" -> "));
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, done, path);
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut done, &mut Vec::new());
    }
    assert_eq!(done.len(), graph.len());
}

#[test]
fn the_comment_stripper_keeps_urls_and_drops_comments() {
    let source = "let a = \"https://x\"; // crate::logto\n/* crate::b /* nested */ */ \
                  let q = '\"'; let r = r#\"a \" // b\"#; use crate::{c, d::E};";
    let stripped = code(source);
    assert!(stripped.contains("https://x") && !stripped.contains("logto"));
    assert!(
        stripped.contains("// b"),
        "a raw string is kept whole: {stripped}"
    );
    let found = references(&stripped, &BTreeMap::new());
    assert_eq!(found, BTreeSet::from(["c".to_owned(), "d".to_owned()]));
}

/// Longest file of `crates/scopegate/src`, test modules aside: a file that long holds two
/// concepts (STYLE.md).
const MAX_LINES: usize = 400;

/// Lines of `source` outside `#[cfg(test)] mod … { … }` blocks. rustfmt closes a block with a
/// `}` at the indentation of its `mod` line, which is where the count resumes.
fn lines_outside_tests(source: &str) -> usize {
    let mut lines = source.lines().peekable();
    let mut count = 0;
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let is_inline_test_mod = line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                let next = next.trim();
                next.contains("mod ") && next.ends_with('{')
            });
        if !is_inline_test_mod {
            count += 1;
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        lines.next();
        for inner in lines.by_ref() {
            if inner == close {
                break;
            }
        }
    }
    count
}

#[test]
fn no_file_of_the_library_crates_is_over_400_lines_outside_its_tests() {
    let mut found = Vec::new();
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for library in [
        "scopegate",
        "scopegate-dev",
        "scopegate-m2m",
        "scopegate-http",
    ] {
        paths(&crates.join(library).join("src"), &mut found);
    }
    assert!(found.len() > 60, "{found:?}");
    let mut too_long: Vec<String> = Vec::new();
    for path in &found {
        let lines = lines_outside_tests(&std::fs::read_to_string(path).unwrap());
        if lines > MAX_LINES {
            too_long.push(format!("{} ({lines} lines)", path.display()));
        }
    }
    assert!(too_long.is_empty(), "over {MAX_LINES} lines: {too_long:?}");
}

/// Every `.rs` file under `dir`.
fn paths(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            paths(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_line_count_leaves_out_test_modules_only() {
    let source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() {\n    }\n}\nfn c() {}\n\
                  #[cfg(test)]\nfn d() {}\n#[cfg(test)]\nmod tests;\n";
    // a, c, the attribute and d, the attribute and the out-of-line `mod tests;`.
    assert_eq!(lines_outside_tests(source), 6);
}
