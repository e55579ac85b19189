//! The documentation keeps up with the code: the layout tree in docs/architecture.md names every
//! file under `shared/src` and nothing that is not there; every link between the pages leads to a
//! page and a heading that exist; every `make` target and every route the pages name exists; the
//! quickstart shows its sites exactly as the files `make test` runs.

use std::collections::BTreeSet;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn files_under(dir: &std::path::Path, root: &std::path::Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap();
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The files the tree names: each line under a `shared/src/...` directory names `.rs` files of
/// that directory; indented lines continue the directory above.
fn files_in_layout_tree() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(format!("{ROOT}/docs/architecture.md")).unwrap();
    let start = doc.find("```\nshared/src/").expect("the layout tree");
    let block = &doc[start + 4..];
    let block = &block[..block.find("```").unwrap()];
    let mut dir: Option<String> = None;
    let mut named = BTreeSet::new();
    for line in block.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if !line.starts_with(' ') {
            dir = first.strip_prefix("shared/src/").map(|d| d.to_owned());
        }
        let Some(d) = &dir else { continue };
        for word in line.split_whitespace().filter(|w| w.ends_with(".rs")) {
            named.insert(format!("{d}{word}"));
        }
    }
    named
}

#[test]
fn the_layout_tree_names_every_file_under_shared_src() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src"));
    let mut actual = BTreeSet::new();
    files_under(root, root, &mut actual);
    let named = files_in_layout_tree();
    let missing: Vec<_> = actual.difference(&named).collect();
    let stale: Vec<_> = named.difference(&actual).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/architecture.md layout tree: missing {missing:?}, names files that are not there {stale:?}"
    );
}

/// Every page: the README, SECURITY.md and docs/*.md, as (path from the root, text).
fn pages() -> Vec<(String, String)> {
    let mut out = vec![];
    for name in ["README.md", "SECURITY.md"] {
        out.push((
            name.to_owned(),
            std::fs::read_to_string(format!("{ROOT}/{name}")).unwrap(),
        ));
    }
    let mut docs: Vec<_> = std::fs::read_dir(format!("{ROOT}/docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    for p in docs {
        let name = format!("docs/{}", p.file_name().unwrap().to_string_lossy());
        out.push((name, std::fs::read_to_string(&p).unwrap()));
    }
    out
}

/// Prose without its fenced code blocks (a `](` in code is no link).
fn prose(text: &str) -> String {
    text.split("```")
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

/// `[text](target)` links: the targets.
fn links(text: &str) -> Vec<String> {
    let prose = prose(text);
    let mut out = vec![];
    let mut rest = prose.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        match after.find(')') {
            Some(j) => {
                out.push(after[..j].to_owned());
                rest = &after[j..];
            }
            None => break,
        }
    }
    out
}

#[test]
fn every_link_between_the_pages_leads_somewhere() {
    let pages = pages();
    let mut broken = vec![];
    for (name, text) in &pages {
        let dir = std::path::Path::new(name)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        for target in links(text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f.to_owned(), Some(a.to_owned())),
                None => (target.clone(), None),
            };
            let path = if file.is_empty() {
                name.clone()
            } else {
                normalise(&format!("{dir}/{file}"))
            };
            let full = format!("{ROOT}/{path}");
            if !std::path::Path::new(&full).exists() {
                broken.push(format!("{name}: ({target}) -> no {path}"));
                continue;
            }
            if let Some(a) = anchor {
                let target_text = std::fs::read_to_string(&full).unwrap_or_default();
                if !anchors(&target_text).contains(&a) {
                    broken.push(format!("{name}: ({target}) -> no heading #{a} in {path}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// `a/b/../c` as `a/c`, without a leading `./` or `/`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = vec![];
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[test]
fn every_make_target_the_pages_name_exists() {
    let makefile = std::fs::read_to_string(format!("{ROOT}/Makefile")).unwrap();
    let targets: BTreeSet<&str> = makefile
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| !t.starts_with(['\t', '#', '.', ' ']) && !t.contains('='))
        .collect();
    let mut unknown = vec![];
    for (name, text) in pages() {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("make ") {
            let before = rest[..i].chars().last();
            let word: String = rest[i + 5..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            rest = &rest[i + 5..];
            // "make" as a command: after a backtick, a space at a line's start, or `$ `.
            if !matches!(before, Some('`') | Some('\n') | None) || word.is_empty() {
                continue;
            }
            if !targets.contains(word.as_str()) {
                unknown.push(format!("{name}: make {word}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "make targets that do not exist: {unknown:?}"
    );
}

#[test]
fn every_route_the_api_page_lists_exists() {
    let openapi: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/functions/sign-in/src/openapi.json")).unwrap(),
    )
    .unwrap();
    let paths = openapi["paths"].as_object().unwrap();
    let api = std::fs::read_to_string(format!("{ROOT}/docs/api.md")).unwrap();
    let mut listed = 0;
    let mut unknown = vec![];
    for line in api.lines().filter(|l| l.starts_with("| `")) {
        // The first cell: one or more "`METHOD /path...`" routes.
        let cell = line[1..].split(" | ").next().unwrap_or("");
        for route in cell.split('`').skip(1).step_by(2) {
            let mut words = route.split_whitespace();
            let (Some(method), Some(path)) = (words.next(), words.next()) else {
                continue;
            };
            if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method) {
                continue;
            }
            let path = path.split('?').next().unwrap_or(path);
            listed += 1;
            let op = paths.get(path).and_then(|p| p.get(method.to_lowercase()));
            if op.is_none() {
                unknown.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        listed > 40,
        "the API page's tables list the routes ({listed} found)"
    );
    assert!(
        unknown.is_empty(),
        "routes docs/api.md lists that do not exist: {unknown:?}"
    );
}

#[test]
fn the_quickstart_shows_the_sites_make_test_runs() {
    let doc = std::fs::read_to_string(format!("{ROOT}/docs/quickstart.md")).unwrap();
    for (file, lang) in [
        ("examples/quickstart/node/site.mjs", "js"),
        ("examples/quickstart/python/site.py", "python"),
    ] {
        let code = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap();
        let block = format!("```{lang}\n{}\n```", code.trim_end());
        assert!(
            doc.contains(&block),
            "docs/quickstart.md must show {file} as it is (copy it in again)"
        );
    }
}
