//! The house is one-way (issue 21): no import cycle between the library's modules, and no
//! arrow from a lower floor up to a higher one. `cargo modules dependencies` sees only `use`
//! declarations and signatures, not a call by path inside a function body
//! (`crate::prune::check_not_pruned(..)`), and its `--acyclic` flags every type whose method
//! names the type; so this test reads every path into the crate itself: `use` trees
//! (with `{..}` groups), paths written inline, `super::` chains. Test modules
//! (`#[cfg(test)]`) are left out: a test may reach anything.
//!
//! `cargo test --test layers -- --nocapture` prints the module map (which top-level module
//! imports which), as the README's architecture section shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, top to bottom. A module may import its own floor and the floors below it;
/// cycles inside a floor are caught by the cycle check.
const FLOORS: &[&[&str]] = &[
    &["cli"],
    &["ops"],
    &["serve"],
    &["report", "mail"],
    &["aggregate", "source", "synth"],
    &["store"],
    &["model", "config"],
    &["hours", "bounds", "names", "plural", "error"],
];

/// A module of the library: its path (`store::db`) and the file that holds it.
struct Module {
    file: PathBuf,
    code: String,
}

fn module_path(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without comments and without `#[cfg(test)]` items.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            // Skip the item the attribute guards: to its `;` or its balanced braces.
            let mut depth = 0i64;
            let mut opened = false;
            for l in lines.by_ref() {
                let l = strip_comment(l);
                depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(strip_comment(line));
        out.push('\n');
    }
    out
}

fn strip_comment(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path the code names that starts with `crate::`, `super::`, `self::` or the name of
/// one of the module's `children` (`collect::run` in `cli/mod.rs`), expanded (`use
/// crate::a::{b, c::d}` gives `crate::a::b` and `crate::a::c::d`). A child's path is given
/// as `self::child::...`.
fn paths_in(code: &str, children: &[&str]) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = |word: &str| -> bool {
            let w: Vec<char> = word.chars().collect();
            chars[i..].starts_with(&w)
                && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':'))
        };
        if starts("crate::") || starts("super::") || starts("self::") {
            let (paths, end) = parse_tree(&chars, i, Vec::new());
            out.extend(paths);
            i = end.max(i + 1);
        } else if children.iter().any(|c| starts(&format!("{c}::"))) {
            let (paths, end) = parse_tree(&chars, i, vec!["self".to_string()]);
            out.extend(paths);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Parses a path (or a `use` tree) at `i`, prefixed by `prefix`; returns the expanded paths
/// and the index after it.
fn parse_tree(chars: &[char], mut i: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut path = prefix;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            i += 1;
            let mut all = Vec::new();
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    return (all, i + 1);
                }
                let (paths, end) = parse_tree(chars, i, path.clone());
                all.extend(paths);
                i = skip_rename(chars, end);
            }
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        if start == i {
            // `*` or anything else ends the path here.
            return (vec![path], i);
        }
        let seg: String = chars[start..i].iter().collect();
        if seg != "self" || path.is_empty() {
            path.push(seg);
        }
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            // `as NAME` and the rest of the statement are not part of the path.
            return (vec![path], i);
        }
    }
}

/// Skips ` as NAME` after a path in a `use` group.
fn skip_rename(chars: &[char], mut i: usize) -> usize {
    let mut j = i;
    while j < chars.len() && chars[j].is_whitespace() {
        j += 1;
    }
    if chars[j..].starts_with(&['a', 's']) && chars.get(j + 2).is_some_and(|c| c.is_whitespace()) {
        j += 2;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        while j < chars.len() && is_ident(chars[j]) {
            j += 1;
        }
        i = j;
    }
    i
}

/// The module a path names: the longest prefix that is a module of the crate.
fn resolve(from: &str, path: &[String], modules: &BTreeMap<String, Module>) -> Option<String> {
    let mut base: Vec<String> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").map(String::from).collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some("self") => rest = &rest[1..],
        _ => return None,
    }
    let mut best = None;
    let mut candidate = base.clone();
    for seg in rest {
        candidate.push(seg.clone());
        let name = candidate.join("::");
        if modules.contains_key(&name) {
            best = Some(name);
        }
    }
    best.or_else(|| (!base.is_empty()).then(|| base.join("::")))
}

fn floor_of(top: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&top))
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(ws) = s.edges.get(v) {
            for w in ws {
                if !s.index.contains_key(w.as_str()) {
                    visit(s, w);
                    let lw = s.low[w.as_str()];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w.as_str()) {
                    let iw = s.index[w.as_str()];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_library_imports_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        if file.file_name().is_some_and(|n| n == "main.rs") {
            continue; // the binary is another crate: it only calls `apr::cli::main`
        }
        let text = std::fs::read_to_string(&file).unwrap();
        modules.insert(
            module_path(&src, &file),
            Module {
                code: code_of(&text),
                file,
            },
        );
    }

    // Module -> the modules it names, with one place each for the message.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why: BTreeMap<(String, String), String> = BTreeMap::new();
    for (name, m) in &modules {
        edges.entry(name.clone()).or_default();
        let children: Vec<&str> = modules
            .keys()
            .filter_map(|k| {
                let rest = if name.is_empty() {
                    k.as_str()
                } else {
                    k.strip_prefix(name.as_str())?.strip_prefix("::")?
                };
                (!rest.is_empty() && !rest.contains("::")).then_some(rest)
            })
            .collect();
        for path in paths_in(&m.code, &children) {
            let Some(to) = resolve(name, &path, &modules) else {
                continue;
            };
            if to == *name || to.is_empty() {
                continue;
            }
            why.entry((name.clone(), to.clone())).or_insert_with(|| {
                format!(
                    "{} names {}",
                    m.file.strip_prefix(&src).unwrap().display(),
                    path.join("::")
                )
            });
            edges.entry(name.clone()).or_default().insert(to);
        }
    }

    // The map of top-level modules, for the README.
    let mut map: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, tos) in &edges {
        let f = top(from);
        if f.is_empty() {
            continue;
        }
        let entry = map.entry(f).or_default();
        for to in tos {
            if top(to) != f {
                entry.insert(top(to));
            }
        }
    }
    for floor in FLOORS {
        for m in *floor {
            if let Some(tos) = map.get(m) {
                let list: Vec<&str> = tos.iter().copied().collect();
                println!("{m:<10} -> {}", list.join(" "));
            }
        }
    }

    let mut problems = Vec::new();
    for t in map.keys() {
        if floor_of(t).is_none() {
            problems.push(format!(
                "module `{t}` is on no floor: add it to FLOORS in tests/layers.rs"
            ));
        }
    }
    for (from, tos) in &edges {
        for to in tos {
            let (Some(a), Some(b)) = (floor_of(top(from)), floor_of(top(to))) else {
                continue;
            };
            if b < a {
                problems.push(format!(
                    "arrow up: {from} -> {to} ({})",
                    why[&(from.clone(), to.clone())]
                ));
            }
        }
    }
    for comp in cycles(&edges) {
        let members: BTreeSet<&String> = comp.iter().collect();
        let inside: Vec<String> = comp
            .iter()
            .flat_map(|a| {
                edges[a]
                    .iter()
                    .filter(|b| members.contains(b))
                    .map(|b| why[&(a.clone(), b.clone())].clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        problems.push(format!(
            "import cycle among {}: {}",
            comp.join(", "),
            inside.join("; ")
        ));
    }
    assert!(
        problems.is_empty(),
        "the house is not one-way:\n{}",
        problems.join("\n")
    );
}

#[test]
fn paths_are_read_from_use_trees_and_code() {
    let code = "use crate::a::{b, c::{d, e as f}, self};\nlet x = super::super::g::h(1);\nuse crate::i::*;\nj::k(); x::j::l();";
    let got: Vec<String> = paths_in(code, &["j"])
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        got,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a",
            "super::super::g::h",
            "crate::i",
            "self::j::k"
        ]
    );
    let text = "fn a() {}\n#[cfg(test)]\nmod tests {\n    use crate::x;\n    fn t() { }\n}\nfn b() { crate::y::z() }\n";
    let code = code_of(text);
    assert!(
        !code.contains("crate::x") && code.contains("crate::y::z"),
        "{code}"
    );
}
