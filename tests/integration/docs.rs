//! The README's layout tree names every file under `shared/src`, and nothing that is not there.

use std::collections::BTreeSet;

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
fn files_in_readme_tree() -> BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme.find("```\nshared/src/").expect("the layout tree");
    let block = &readme[start + 4..];
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
fn the_readme_tree_names_every_file_under_shared_src() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src"));
    let mut actual = BTreeSet::new();
    files_under(root, root, &mut actual);
    let named = files_in_readme_tree();
    let missing: Vec<_> = actual.difference(&named).collect();
    let stale: Vec<_> = named.difference(&actual).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "README layout tree: missing {missing:?}, names files that are not there {stale:?}"
    );
}
