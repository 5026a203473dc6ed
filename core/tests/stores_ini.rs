//! INI store against the sops 3.11 vectors.

use leafcrypt_core::stores::ini::IniStore;
use leafcrypt_core::stores::{Format, Store};
use leafcrypt_core::tree::{Entry, Map, Tree, Value};
use leafcrypt_core::Error;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn round_trip(path: &str) -> String {
    let doc = IniStore
        .parse(&read(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    text(&IniStore.emit(&doc.tree, doc.metadata.as_ref()).unwrap())
}

/// Splits an INI file into its data part and its `[sops]` lines sorted by key (sops
/// writes them in random order; leafcrypt sorts them).
fn with_sorted_sops_section(file: &str) -> String {
    let Some((data, sops)) = file.split_once("[sops]\n") else {
        return file.to_string();
    };
    let mut lines: Vec<&str> = sops.lines().collect();
    lines.sort_by_key(|l| l.split(' ').next().unwrap_or_default().to_string());
    format!("{data}[sops]\n{}\n", lines.join("\n"))
}

#[test]
fn plain_files_emit_as_sops_decrypt_does() {
    assert_eq!(
        round_trip("ini/plain.ini"),
        text(&read("ini/decrypted.ini"))
    );
    assert_eq!(
        round_trip("shamir/plain.ini"),
        text(&read("shamir/decrypted.ini"))
    );
}

#[test]
fn encrypted_files_round_trip_with_the_sops_section_sorted() {
    for path in [
        "ini/encrypted.ini",
        "shamir/shamir-2of3.ini",
        "metadata/all-kinds.ini",
    ] {
        let expected = with_sorted_sops_section(&text(&read(path)));
        assert_eq!(round_trip(path), expected, "{path}");
    }
}

#[test]
fn tree_shape_matches_sops() {
    let doc = IniStore.parse(&read("ini/plain.ini")).unwrap();
    assert!(doc.metadata.is_none());
    let branch = &doc.tree.branches[0];
    let names: Vec<&str> = branch.pairs().map(|(k, _)| k).collect();
    assert_eq!(names, ["DEFAULT", "database", "server"]);
    let db = branch.get("database").and_then(Value::as_map).unwrap();
    let expected = vec![
        Entry::Comment("top comment".into()),
        Entry::Pair("user".into(), Value::Str("admin".into())),
        Entry::Pair("password".into(), Value::Str("s3cr3t".into())),
        Entry::Comment("comment before password".into()),
        Entry::Pair("port".into(), Value::Str("5432".into())),
        Entry::Pair("empty".into(), Value::Str(String::new())),
        Entry::Pair("quoted".into(), Value::Str("a b".into())),
    ];
    assert_eq!(db.entries, expected);
    let server = branch.get("server").and_then(Value::as_map).unwrap();
    assert_eq!(server.entries[0], Entry::Comment("hash comment".into()));
}

#[test]
fn go_ini_value_rules() {
    let input = "; c0\n[a]\nk = v ; inl\n; c1\n# c2\nj = \"\"\"x\ny\"\"\"\nm = `p;q`\nz = \\\n  cont\nt = \"  sp \"\nu = a\\\nb\nw : colon\n[a]\nk2=1\n";
    let doc = IniStore.parse(input.as_bytes()).unwrap();
    let branch = &doc.tree.branches[0];
    assert_eq!(branch.get("DEFAULT"), Some(&Value::Map(Map::new())));
    let sections: Vec<&Map> = branch
        .pairs()
        .filter(|(k, _)| *k == "a")
        .filter_map(|(_, v)| v.as_map())
        .collect();
    assert_eq!(sections.len(), 2, "duplicate sections stay apart");
    let a = sections[0];
    let get = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{k}"))
    };
    assert_eq!(get("k"), "v");
    assert_eq!(get("j"), "x\ny");
    assert_eq!(get("m"), "p;q");
    assert_eq!(get("z"), "cont");
    assert_eq!(get("t"), "  sp ");
    assert_eq!(get("u"), "ab");
    assert_eq!(get("w"), "colon");
    // sops's own output for this input (with every value left plain).
    let out = text(&IniStore.emit(&doc.tree, None).unwrap());
    assert_eq!(
        out,
        "; c0\n[a]\n; inl\nk = v\n; c1\n# c2\nj = \"\"\"x\ny\"\"\"\nm = `p;q`\nz = cont\nt = \"  sp \"\nu = ab\nw = colon\n\n[a]\nk2 = 1\n"
    );
}

#[test]
fn a_line_without_delimiter_is_an_error() {
    let err = IniStore.parse(b"[a]\nnoeq\n").unwrap_err();
    match &err {
        Error::Parse {
            format: "ini",
            line: Some(2),
            message,
        } => {
            assert_eq!(
                message,
                "key-value delimiter not found (the line's text is not shown: it may be secret)"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn top_level_scalars_cannot_be_written() {
    let mut map = Map::new();
    map.push("a", Value::Str("x".into()));
    let err = IniStore
        .emit(
            &Tree {
                branches: vec![map],
            },
            None,
        )
        .unwrap_err();
    assert!(err
        .to_string()
        .ends_with("Section values should always be TreeBranches"));
    assert_eq!(err.exit_code(), 4);
}

#[test]
fn typed_and_nested_values_print_as_go_does() {
    let mut nested = Map::new();
    nested.push("h", Value::Int(1));
    let mut x = Map::new();
    x.push("a", Value::Time("2024-01-02T03:04:05+02:00".into()));
    x.push("b", Value::Float(f64::INFINITY));
    x.push("c", Value::Float(1e21));
    x.push("d", Value::Null);
    x.push("e", Value::Bool(true));
    x.push("f", Value::List(vec![Value::Int(1), Value::Int(2)]));
    x.push("g", Value::Map(nested));
    let mut map = Map::new();
    map.push("x", Value::Map(x));
    let out = Format::Ini
        .store(None)
        .emit(
            &Tree {
                branches: vec![map],
            },
            None,
        )
        .unwrap();
    assert_eq!(
        text(&out),
        "[x]\na = 2024-01-02T03:04:05+02:00\nb = +Inf\nc = 1E+21\nd = <nil>\ne = true\nf = [1 2]\ng = [{h 1}]\n"
    );
}

#[test]
fn metadata_section_is_taken_out() {
    let doc = IniStore.parse(&read("metadata/all-kinds.ini")).unwrap();
    let md = doc.metadata.expect("metadata");
    let kinds: Vec<&str> = md.key_groups[0]
        .keys
        .iter()
        .map(|k| k.kind.as_str())
        .collect();
    for kind in [
        "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age", "pgp",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(doc.tree.branches[0].get("sops").is_none());
}

/// Found by the `stores` fuzz target: a second `[sops]` section was read as data and written
/// back as a second `[sops]` that hid the metadata. go-ini merges same-named sections.
#[test]
fn a_second_sops_section_adds_to_the_metadata() {
    let src =
        "[sops]\ne__list_0__map_r=x\nlastmodified=2026-11-29T01:29:59Z\n[sops]\nversion=3.11.0\n";
    let doc = IniStore.parse(src.as_bytes()).unwrap();
    let metadata = doc.metadata.expect("metadata");
    assert_eq!(metadata.version, "3.11.0");
    assert!(doc.tree.branches[0].get("sops").is_none());
    let out = IniStore.emit(&doc.tree, Some(&metadata)).unwrap();
    let again = IniStore.parse(&out).expect("reads back what it wrote");
    assert_eq!(again.metadata.map(|m| m.version), Some("3.11.0".into()));
}

/// Found by the `stores` fuzz target: a value ending in `\` was written bare, so reading it
/// back continued it onto the next line (here the metadata's `lastmodified`, which was then
/// missing). Such a value is written between backticks and reads back as it was.
#[test]
fn a_value_ending_in_a_backslash_reads_back() {
    let src = "[s]\nk = \"a\\\\\"\nnext = 1\n[sops]\nage__list_0__map_recipient = \"age1x\\\"\nage__list_0__map_enc = E\nlastmodified = 2026-11-29T01:29:59Z\nversion = 3.11.0\n";
    let doc = IniStore.parse(src.as_bytes()).unwrap();
    let metadata = doc.metadata.expect("metadata");
    let out = IniStore.emit(&doc.tree, Some(&metadata)).unwrap();
    let again = IniStore.parse(&out).expect("reads back what it wrote");
    assert_eq!(again.tree, doc.tree);
    let md = again.metadata.expect("metadata");
    assert_eq!(md.last_modified, "2026-11-29T01:29:59Z");
    assert_eq!(md, metadata);
}

/// Found by the `stores` fuzz target: a key starting with `[` (read from a quoted key) was
/// written bare and read back as an unclosed section; a key holding a backtick and `:` was
/// written between backticks and read back empty. Keys that would be misread bare — a
/// section, a comment, surrounding blanks — are written quoted.
#[test]
fn keys_that_would_be_misread_bare_are_quoted() {
    for key in ["[a", "[a]", "#a", ";a", "`:?1a", "a`=b", "`[x"] {
        let src = format!("[s]\n\"{key}\" = 1\nb = 2\n");
        let doc = IniStore.parse(src.as_bytes()).expect(key);
        let out = IniStore.emit(&doc.tree, None).expect(key);
        let again = IniStore
            .parse(&out)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(again.tree, doc.tree, "{key}");
    }
}

/// Found by the `stores` fuzz target: a value `"""` was written bare and read back as an
/// unclosed multi-line value; a value between quotes (`"x"`) lost them. Both are written
/// between backticks and read back as they were.
#[test]
fn values_that_would_be_misread_bare_are_quoted() {
    for value in ["\"\"\"", "\"\"\"a", "\"x\"", "'y'"] {
        let src = format!("[s]\na = `{value}`\nb = 2\n");
        let doc = IniStore.parse(src.as_bytes()).expect(value);
        let out = IniStore.emit(&doc.tree, None).expect(value);
        let again = IniStore
            .parse(&out)
            .unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(again.tree, doc.tree, "{value}");
    }
}

/// Found by the `stores` fuzz target: a multi-line value with `"""` on a line before its
/// last was written inside `"""…"""`, and go-ini's reader took that line for the closing
/// quote (the rest of the value read as keys: `key-value delimiter not found`). INI cannot
/// quote it, so writing it is refused, naming the key, never the value; `"""` on the last
/// line, or in a one-line value, still reads back.
#[test]
fn a_multi_line_value_with_an_inner_closing_quote_is_refused() {
    let section = |v: &str| {
        let mut inner = Map::new();
        inner.push("k", Value::Str(v.to_string()));
        let mut top = Map::new();
        top.push("s", Value::Map(inner));
        Tree {
            branches: vec![top],
        }
    };
    let err = IniStore
        .emit(&section("sec1\nb\"\"\"\nc"), None)
        .expect_err("unreadable value written");
    let message = err.to_string();
    assert!(message.contains("[s] k"), "{message}");
    assert!(!message.contains("sec1"), "{message}");
    for bad in ["a\"\"\"b\nc", "\"\"\"\nc"] {
        assert!(IniStore.emit(&section(bad), None).is_err(), "{bad:?}");
    }
    for ok in ["a\nb\"\"\"", "a\nb\"\"\"c", "a`b\"\"\"c"] {
        let out = IniStore.emit(&section(ok), None).expect(ok);
        let again = IniStore
            .parse(&out)
            .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        assert_eq!(
            again.tree.branches[0].get("s"),
            section(ok).branches[0].get("s"),
            "{ok:?}"
        );
    }
}
