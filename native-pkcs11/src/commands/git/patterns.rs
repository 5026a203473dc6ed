//! `.gitattributes` patterns from `.sops.yaml` creation rules' `path_regex`, where a
//! glob can say the same thing.

/// The glob for `regex` (matched, as sops matches it, against the path relative to the
/// config's directory), or `None` when no glob expresses it. `prefix` is the config's
/// directory relative to the attributes file's (empty for the same directory).
pub fn glob_for(regex: &str, prefix: &str) -> Option<String> {
    let anchored = regex.starts_with('^');
    let body = regex.strip_prefix('^').unwrap_or(regex);
    let (body, ends) = match body.strip_suffix('$') {
        Some(b) if !b.ends_with('\\') => (b, true),
        _ => (body, false),
    };
    let chars: Vec<char> = body.chars().collect();
    let mut glob = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..].iter().collect();
        if c == '\\' {
            let next = *chars.get(i + 1)?;
            if next.is_ascii_alphanumeric() || "*?[]!#".contains(next) {
                return None; // \d, \w, or a character globs treat specially
            }
            glob.push(next);
            i += 2;
        } else if rest.starts_with(".*") || rest.starts_with("[^/]*") {
            let any_dir = rest.starts_with(".*");
            let len = if any_dir { 2 } else { 5 };
            let at_segment_start = glob.is_empty() || glob.ends_with('/');
            let next = chars.get(i + len);
            if any_dir && at_segment_start && next.is_some() && next != Some(&'/') {
                glob.push_str("**/*"); // `dir/.*\.yaml`: any depth below dir
            } else if any_dir && at_segment_start && next.is_none() {
                glob.push_str("**");
            } else if any_dir && body.contains('/') {
                return None; // `.*` inside a segment of a path would cross `/`
            } else {
                glob.push('*');
            }
            i += len;
        } else if c.is_ascii_alphanumeric() || "/_-@=,%~".contains(c) {
            glob.push(c);
            i += 1;
        } else {
            return None; // alternation, groups, classes, quantifiers, `.` as any char
        }
    }
    if glob.is_empty() {
        return None;
    }
    if !ends {
        glob.push_str(if glob.ends_with('/') { "**" } else { "*" });
    }
    let has_slash = glob.trim_end_matches('/').contains('/');
    // An unanchored regex may match inside a name and at any depth.
    let glob = match (anchored, has_slash) {
        (true, true) => glob,
        (true, false) if prefix.is_empty() => format!("/{glob}"),
        (true, false) => glob,
        (false, _) if glob.starts_with("**") => glob,
        (false, _) => {
            let inside = if glob.starts_with('*') {
                glob
            } else {
                format!("*{glob}")
            };
            if has_slash || !prefix.is_empty() {
                format!("**/{inside}")
            } else {
                inside
            }
        }
    };
    Some(if prefix.is_empty() {
        glob
    } else {
        format!("{}/{glob}", prefix.trim_end_matches('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::glob_for;

    #[test]
    fn simple_regexes_become_globs() {
        let cases = [
            (r"\.enc\.yaml$", "*.enc.yaml"),
            (r"secrets\.json$", "*secrets.json"),
            (r"^secrets/.*\.yaml$", "secrets/**/*.yaml"),
            (r"^secrets/", "secrets/**"),
            (r"prod/[^/]*\.env$", "**/*prod/*.env"),
            (r"^app\.env$", "/app.env"),
            (r".*\.enc\.json$", "**/*.enc.json"),
        ];
        for (regex, glob) in cases {
            assert_eq!(glob_for(regex, "").as_deref(), Some(glob), "{regex}");
        }
        assert_eq!(
            glob_for(r"\.enc\.yaml$", "deploy").as_deref(),
            Some("deploy/**/*.enc.yaml")
        );
    }

    #[test]
    fn regexes_no_glob_can_say_are_refused() {
        for regex in [
            r"(a|b)\.yaml$",
            r"file\d+\.yaml",
            r"a.yaml",
            r"x+\.json",
            r"^a/b.*c/d",
        ] {
            assert_eq!(glob_for(regex, ""), None, "{regex}");
        }
    }
}
