//! An Argo CD Config Management Plugin simulator: runs a `plugin.yaml` (ConfigManagementPlugin
//! v1alpha1) the way argocd-cmp-server does (a port of the Python simulator of
//! shared/notes/gitops.md §2.5): the repository copied to a temporary directory, working
//! directory = the app path, `ARGOCD_APP_*`, `KUBE_*`, the app's env as `ARGOCD_ENV_*`, its
//! parameters as `ARGOCD_APP_PARAMETERS` (JSON) and `PARAM_*`, stdin empty (no TTY);
//! `discover` (fileName / find.glob / find.command), then `init`, then `generate`, whose
//! stdout must be a YAML stream of objects with apiVersion and kind.

use leafcrypt_core::stores::Format;
use leafcrypt_core::tree::{Map, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One `spec.<step>`: command and args.
#[derive(Debug, Default, Clone)]
pub struct Step {
    /// `command` then `args`.
    pub argv: Vec<String>,
}

/// What the plugin.yaml says.
#[derive(Debug, Default)]
pub struct Plugin {
    /// `metadata.name` + `-` + `spec.version` (what an Application names).
    pub name: String,
    /// `discover.fileName`.
    pub file_name: Option<String>,
    /// `discover.find.glob`.
    pub glob: Option<String>,
    /// `discover.find.command` (+ args).
    pub find_command: Option<Step>,
    /// `init`.
    pub init: Option<Step>,
    /// `generate`.
    pub generate: Step,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn step(m: Option<&Value>) -> Option<Step> {
    let m = m?.as_map()?;
    let mut argv = strings(m.get("command"));
    argv.extend(strings(m.get("args")));
    Some(Step { argv })
}

fn map<'a>(m: &'a Map, key: &str) -> Option<&'a Map> {
    m.get(key).and_then(Value::as_map)
}

impl Plugin {
    /// Parses a plugin.yaml; panics (the test fails) when it is not a CMP v1alpha1.
    pub fn load(path: &Path) -> Plugin {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let docs = parse_stream(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let root = &docs[0];
        let s = |m: &Map, k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        assert_eq!(
            s(root, "apiVersion").as_deref(),
            Some("argoproj.io/v1alpha1")
        );
        assert_eq!(s(root, "kind").as_deref(), Some("ConfigManagementPlugin"));
        let spec = map(root, "spec").expect("plugin.yaml: spec");
        let name = map(root, "metadata")
            .and_then(|m| s(m, "name"))
            .expect("metadata.name");
        let version = s(spec, "version");
        let discover = map(spec, "discover");
        let find = discover.and_then(|d| map(d, "find"));
        Plugin {
            name: match version {
                Some(v) => format!("{name}-{v}"),
                None => name,
            },
            file_name: discover.and_then(|d| s(d, "fileName")),
            glob: find.and_then(|f| s(f, "glob")),
            find_command: find
                .and_then(|f| step(Some(&Value::Map(f.clone()))))
                .filter(|s| !s.argv.is_empty()),
            init: step(spec.get("init")),
            generate: step(spec.get("generate")).expect("plugin.yaml: spec.generate"),
        }
    }
}

/// Parses a YAML stream into its documents, each of which must be a map.
pub fn parse_stream(bytes: &[u8]) -> Result<Vec<Map>, String> {
    let doc = Format::Yaml
        .store(None)
        .parse(bytes)
        .map_err(|e| format!("not a YAML stream: {e}"))?;
    Ok(doc.tree.branches)
}

/// The application the plugin renders.
#[derive(Debug, Default, Clone)]
pub struct App {
    /// `metadata.name`.
    pub name: String,
    /// The destination namespace.
    pub namespace: String,
    /// `spec.source.path` (relative to the repo root).
    pub path: String,
    /// `spec.source.plugin.env` (name, value).
    pub env: Vec<(String, String)>,
    /// `spec.source.plugin.parameters` as Argo CD's JSON list.
    pub parameters: Option<serde_json::Value>,
}

/// What one step did.
#[derive(Debug)]
pub struct StepOutput {
    /// Exit code (-1: killed by a signal).
    pub code: i32,
    /// stdout.
    pub stdout: Vec<u8>,
    /// stderr (lossy text).
    pub stderr: String,
}

/// The outcome of one simulated render.
#[derive(Debug)]
pub struct Render {
    /// Whether `discover` matched.
    pub discovered: bool,
    /// `init`, when there is one.
    pub init: Option<StepOutput>,
    /// `generate` (not run when init failed).
    pub generate: Option<StepOutput>,
    /// The manifests, when generate succeeded and printed a valid stream.
    pub manifests: Result<Vec<Map>, String>,
}

/// The sidecar: its PATH and own environment (keys), and a private TMPDIR.
pub struct Sidecar {
    /// PATH of the sidecar.
    pub path: OsString,
    /// The sidecar container's env (SOPS_AGE_KEY_FILE, …).
    pub env: Vec<(String, String)>,
    /// HOME and TMPDIR (a directory the test inspects afterwards).
    pub home: PathBuf,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// Argo CD's flattened parameters: `PARAM_<NAME>`, `PARAM_<NAME>_<i>`, `PARAM_<NAME>_<KEY>`.
fn flat_params(params: &serde_json::Value) -> Vec<(String, String)> {
    let norm = |s: &str| {
        s.to_uppercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    };
    let mut out = Vec::new();
    for p in params.as_array().into_iter().flatten() {
        let name = norm(p["name"].as_str().unwrap_or_default());
        if let Some(s) = p.get("string").and_then(|v| v.as_str()) {
            out.push((format!("PARAM_{name}"), s.to_string()));
        }
        for (i, v) in p
            .get("array")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            out.push((
                format!("PARAM_{name}_{i}"),
                v.as_str().unwrap_or_default().to_string(),
            ));
        }
        for (k, v) in p
            .get("map")
            .and_then(|v| v.as_object())
            .into_iter()
            .flatten()
        {
            out.push((
                format!("PARAM_{name}_{}", norm(k)),
                v.as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

/// A doublestar glob as a regex over `/`-separated relative paths.
fn glob_regex(glob: &str) -> regex::Regex {
    let mut re = String::from("^");
    let mut rest = glob.trim_start_matches("./");
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**/") {
            re.push_str("(?:.*/)?");
            rest = r;
        } else if let Some(r) = rest.strip_prefix("**") {
            re.push_str(".*");
            rest = r;
        } else {
            let c = rest.chars().next().expect("non-empty");
            match c {
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("glob regex")
}

/// Relative paths of every file under `dir`.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out
}

impl Sidecar {
    fn run(&self, step: &Step, cwd: &Path, env: &[(String, String)]) -> StepOutput {
        let (program, args) = step.argv.split_first().expect("a command");
        let out = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.home)
            .env("TMPDIR", self.home.join("tmp"))
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .envs(leafcrypt_tests::harness::NETWORK_GUARD.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} (PATH {:?}): {e}", self.path));
        StepOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Renders `app` of `repo` with `plugin`, as argocd-cmp-server would.
    pub fn render(&self, plugin: &Plugin, repo: &Path, app: &App) -> Render {
        std::fs::create_dir_all(self.home.join("tmp")).expect("sidecar tmp");
        let checkout = tempfile::Builder::new()
            .prefix("cmp-repo-")
            .tempdir_in(&self.home)
            .expect("checkout dir");
        copy_tree(repo, checkout.path());
        let app_dir = checkout.path().join(&app.path);
        let mut env = vec![
            ("ARGOCD_APP_NAME".to_string(), app.name.clone()),
            ("ARGOCD_APP_NAMESPACE".into(), app.namespace.clone()),
            (
                "ARGOCD_APP_REVISION".into(),
                "0123456789abcdef0123456789abcdef01234567".into(),
            ),
            ("ARGOCD_APP_REVISION_SHORT".into(), "0123456".into()),
            ("ARGOCD_APP_SOURCE_PATH".into(), app.path.clone()),
            (
                "ARGOCD_APP_SOURCE_REPO_URL".into(),
                "https://git.example.com/platform/apps.git".into(),
            ),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION".into(), "HEAD".into()),
            ("KUBE_VERSION".into(), "1.32.4".into()),
            ("KUBE_API_VERSIONS".into(), "v1,apps/v1,batch/v1".into()),
        ];
        for (k, v) in &app.env {
            env.push((format!("ARGOCD_ENV_{k}"), v.clone()));
        }
        if let Some(p) = &app.parameters {
            env.push(("ARGOCD_APP_PARAMETERS".into(), p.to_string()));
            env.extend(flat_params(p));
        }
        let discovered = if let Some(name) = &plugin.file_name {
            let re = glob_regex(name);
            std::fs::read_dir(&app_dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| re.is_match(&e.file_name().to_string_lossy()))
        } else if let Some(glob) = &plugin.glob {
            let re = glob_regex(glob);
            files_under(&app_dir).iter().any(|f| re.is_match(f))
        } else if let Some(cmd) = &plugin.find_command {
            let out = self.run(cmd, &app_dir, &env);
            out.code == 0 && !String::from_utf8_lossy(&out.stdout).trim().is_empty()
        } else {
            false
        };
        let init = plugin.init.as_ref().map(|s| self.run(s, &app_dir, &env));
        if init.as_ref().is_some_and(|i| i.code != 0) {
            return Render {
                discovered,
                init,
                generate: None,
                manifests: Err("init failed".into()),
            };
        }
        let generate = self.run(&plugin.generate, &app_dir, &env);
        let manifests = if generate.code != 0 {
            Err(format!(
                "generate exited {}: {}",
                generate.code, generate.stderr
            ))
        } else {
            parse_stream(&generate.stdout).and_then(|docs| {
                for (i, d) in docs.iter().enumerate() {
                    for field in ["apiVersion", "kind"] {
                        if d.get(field).and_then(Value::as_str).is_none() {
                            return Err(format!("manifest {i} has no {field}"));
                        }
                    }
                }
                Ok(docs)
            })
        };
        Render {
            discovered,
            init,
            generate: Some(generate),
            manifests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_doublestar_does() {
        let re = glob_regex("**/Chart.yaml");
        assert!(re.is_match("Chart.yaml") && re.is_match("a/b/Chart.yaml"));
        assert!(!re.is_match("a/Chart.yaml.bak"));
        assert!(
            glob_regex("*.yaml").is_match("x.yaml") && !glob_regex("*.yaml").is_match("a/x.yaml")
        );
    }

    #[test]
    fn parameters_are_flattened_as_argo_cd_does() {
        let p = serde_json::json!([{"name":"values-files","array":["a","b"]},{"name":"helm-parameters","map":{"image.tag":"1"}},{"name":"r","string":"x"}]);
        let flat = flat_params(&p);
        assert!(flat.contains(&("PARAM_VALUES_FILES_1".into(), "b".into())));
        assert!(flat.contains(&("PARAM_HELM_PARAMETERS_IMAGE_TAG".into(), "1".into())));
        assert!(flat.contains(&("PARAM_R".into(), "x".into())));
    }
}
